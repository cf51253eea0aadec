using System.Text.Json;
using System.Text.Json.Serialization;

namespace Luthien.Control.Streaming;

/// <summary>
/// Source-generated metadata for the streaming policies' options: the policy-file rules (snake_case keys, unknown keys
/// refused, comments and trailing commas allowed).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(TransactionContextLoggingOptions))]
[JsonSerializable(typeof(ResponseContentOptions))]
[JsonSerializable(typeof(ToolCallOptions))]
internal sealed partial class StreamingConfigJsonContext : JsonSerializerContext;
