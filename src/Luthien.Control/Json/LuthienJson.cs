using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>Shared JSON settings.</summary>
internal static class LuthienJson
{
    /// <summary>
    /// For policy configuration: snake_case keys, unknown keys rejected, numbers read from strings refused. The built-in
    /// options use source-generated metadata (<see cref="ConfigJsonContext"/>); other types fall back to reflection.
    /// </summary>
    public static readonly JsonSerializerOptions ConfigOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(
            ConfigJsonContext.Default, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()),
    };

    /// <summary>
    /// For writing client and backend JSON again: compact, relaxed escaping so that text is not rewritten into \u
    /// escapes needlessly (the output is JSON on the wire, never HTML).
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private const int KeptBufferBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>
    /// Serializes a node compactly. Written straight with a <see cref="Utf8JsonWriter"/> into a per-thread buffer: no
    /// serializer metadata is looked up (nothing reflection-based on the request path) and only the result is allocated.
    /// </summary>
    public static byte[] ToUtf8Bytes(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, WriterOptions);
        try
        {
            writer.Reset(buffer);
            node.WriteTo(writer);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            buffer.ResetWrittenCount();
            if (buffer.Capacity > KeptBufferBytes)
            {
                // An unusually large body: do not keep its buffer alive on this thread.
                t_buffer = null;
                t_writer = null;
            }
        }
    }
}
