using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Json;

/// <summary>Shared JSON settings.</summary>
internal static class LuthienJson
{
    /// <summary>
    /// For re-serializing client and backend JSON: relaxed escaping so text is not rewritten into \u escapes
    /// needlessly (the output is JSON on the wire, never HTML).
    /// </summary>
    public static readonly JsonSerializerOptions NodeOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    /// <summary>For policy configuration: snake_case keys, unknown keys rejected, numbers read from strings refused.</summary>
    public static readonly JsonSerializerOptions ConfigOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>Serializes a node compactly.</summary>
    public static byte[] ToUtf8Bytes(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, NodeOptions);
}
