using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// A function call's <c>arguments</c>: the JSON text of <see cref="FunctionCallContent.Arguments"/>, and back.
/// </summary>
/// <remarks>
/// Arguments that are not a JSON object (a client or policy sent broken JSON) cannot become a dictionary. The call then
/// has <see cref="FunctionCallContent.Arguments"/> <see langword="null"/>, <see cref="FunctionCallContent.Exception"/> set
/// (as M.E.AI's OpenAI client does, so <c>FunctionInvokingChatClient</c> reports the error to the model instead of
/// invoking the function) and the raw text in <see cref="AIContent.RawRepresentation"/> as a <see cref="string"/>, which
/// every writer here writes back as it is. That text is the JSON's own, after policies ran, so it holds nothing a
/// policy removed.
/// </remarks>
internal static class FunctionArguments
{
    private static readonly JsonTypeInfo<IDictionary<string, object?>> DictionaryInfo =
        (JsonTypeInfo<IDictionary<string, object?>>)WireJson.SerializerOptions.GetTypeInfo(typeof(IDictionary<string, object?>));

    /// <summary>The arguments as JSON text; none is <c>{}</c>.</summary>
    public static string ToJson(FunctionCallContent call)
    {
        if (call.Arguments is null)
        {
            return call.RawRepresentation is string raw ? raw : "{}";
        }

        return JsonSerializer.Serialize(call.Arguments, DictionaryInfo);
    }

    /// <summary>
    /// Writes the arguments' JSON text as UTF-8 into <paramref name="scratch"/> (reset first) through
    /// <paramref name="scratchWriter"/>, for the streaming path that escapes it into a string without an interim string.
    /// </summary>
    public static void WriteUtf8(FunctionCallContent call, ArrayBufferWriter<byte> scratch, Utf8JsonWriter scratchWriter)
    {
        scratch.ResetWrittenCount();
        if (call.Arguments is null)
        {
            var text = call.RawRepresentation as string ?? "{}";
            var span = scratch.GetSpan(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
            scratch.Advance(System.Text.Encoding.UTF8.GetBytes(text, span));
            return;
        }

        scratchWriter.Reset(scratch);
        JsonSerializer.Serialize(scratchWriter, call.Arguments, DictionaryInfo);
        scratchWriter.Flush();
    }

    /// <summary>
    /// A call from its wire parts. Empty arguments are none; arguments that are not a JSON object keep their raw text
    /// (see the remarks on the type).
    /// </summary>
    public static FunctionCallContent ToCall(string callId, string name, string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return new FunctionCallContent(callId, name);
        }

        var call = FunctionCallContent.CreateFromParsedArguments(arguments, callId, name, static json => Parse(json));
        if (call.Arguments is null)
        {
            call.RawRepresentation = arguments;
        }

        return call;
    }

    private static IDictionary<string, object?> Parse(string json) =>
        JsonSerializer.Deserialize(json, DictionaryInfo) ?? throw new JsonException("The arguments are not a JSON object.");
}
