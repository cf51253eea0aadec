using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// A chat completion request body. The JSON is kept whole (<see cref="Payload"/>), so fields the library does not
/// know pass through untouched; the typed members read and write the fields policies commonly need.
/// </summary>
public sealed class ChatCompletionRequest
{
    private ChatCompletionRequest(JsonObject payload)
    {
        Payload = payload;
        ClientAskedForUsage = IncludeUsage;
    }

    /// <summary>The whole request body. Changes to it are what the backend receives.</summary>
    public JsonObject Payload { get; }

    /// <summary>The <c>model</c> field.</summary>
    public string? Model
    {
        get => Payload["model"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        set => Payload["model"] = value;
    }

    /// <summary>The <c>stream</c> field: whether the client asked for server-sent events.</summary>
    public bool Stream
    {
        get => Payload["stream"] is JsonValue v && v.TryGetValue(out bool b) && b;
        set => Payload["stream"] = value;
    }

    /// <summary>The <c>messages</c> array.</summary>
    public JsonArray Messages => Payload["messages"] as JsonArray ?? [];

    /// <summary>Whether the client asked for a usage chunk at the end of a stream (<c>stream_options.include_usage</c>).</summary>
    public bool IncludeUsage =>
        Payload["stream_options"] is JsonObject o && o["include_usage"] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>
    /// Whether the client itself asked for the usage chunk: read once, when the body was parsed, before the library could
    /// ask the backend for usage on its own behalf.
    /// </summary>
    internal bool ClientAskedForUsage { get; }

    /// <summary>
    /// Whether the request, as it now stands, asks for usage the client did not ask for: the client must then get the
    /// answer exactly as it would have without (no usage chunk, no <c>"usage":null</c> members).
    /// </summary>
    internal bool AsksUsageClientDidNot => !ClientAskedForUsage && IncludeUsage;

    /// <summary>
    /// Parses and validates a request body: it must be a JSON object with a non-empty <c>messages</c> array, valid UTF-8
    /// without unpaired surrogate escapes, at most 64 levels deep, with no property name repeated in any object.
    /// </summary>
    /// <param name="utf8Json">The body bytes.</param>
    /// <returns>The parsed request.</returns>
    /// <exception cref="InvalidRequestException">The body is not valid (status 400, code <c>invalid_request</c>).</exception>
    public static ChatCompletionRequest Parse(ReadOnlySpan<byte> utf8Json)
    {
        var fault = JsonHygiene.ReadNode(utf8Json, out var node);
        if (fault != JsonFault.None)
        {
            throw new InvalidRequestException(fault switch
            {
                JsonFault.TooManyTokens => $"The request body holds more than {JsonHygiene.MaxTokens} JSON tokens.",
                JsonFault.Text => "The request body is not valid UTF-8 or holds an unpaired surrogate escape.",
                _ => $"The request body is not valid JSON (a single value, at most {JsonHygiene.MaxDepth} levels deep, no property name repeated).",
            });
        }

        if (node is not JsonObject obj)
        {
            throw new InvalidRequestException("The request body must be a JSON object.");
        }

        if (obj["messages"] is not JsonArray messages || messages.Count == 0)
        {
            throw new InvalidRequestException("'messages' is required and must be a non-empty array.", param: "messages");
        }

        if (obj["stream"] is JsonNode s && s.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            throw new InvalidRequestException("'stream' must be a boolean.", param: "stream");
        }

        return new ChatCompletionRequest(obj);
    }

    /// <summary>Wraps an existing JSON object without validating it.</summary>
    /// <param name="payload">The request body.</param>
    public static ChatCompletionRequest FromPayload(JsonObject payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return new ChatCompletionRequest(payload);
    }

    /// <summary>Every piece of text in the messages: string contents and the <c>text</c> of content parts.</summary>
    public IEnumerable<string> EnumerateMessageTexts()
    {
        foreach (var message in Messages)
        {
            if (message is not JsonObject m)
            {
                continue;
            }

            switch (m["content"])
            {
                case JsonValue v when v.TryGetValue(out string? text):
                    yield return text;
                    break;
                case JsonArray parts:
                    foreach (var part in parts)
                    {
                        if (part is JsonObject p && p["text"] is JsonValue t && t.TryGetValue(out string? partText))
                        {
                            yield return partText;
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>Serializes the body as UTF-8 JSON, the form sent to the backend.</summary>
    public byte[] ToUtf8Bytes() => LuthienJson.ToUtf8Bytes(Payload);
}
