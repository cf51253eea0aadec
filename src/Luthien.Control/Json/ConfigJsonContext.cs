using System.Text.Json;
using System.Text.Json.Serialization;
using Luthien.Control.Streaming;

namespace Luthien.Control;

/// <summary>
/// Source-generated metadata for the built-in policies' options (request and response policies alike), read from
/// policy files with the same rules as <see cref="LuthienJson.ConfigOptions"/>. Host policies' options fall back to
/// reflection.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(PolicyOptions))]
[JsonSerializable(typeof(ClientApiKeyAuthOptions))]
[JsonSerializable(typeof(SetBackendOptions))]
[JsonSerializable(typeof(LeakedApiKeyDetectionOptions))]
[JsonSerializable(typeof(ModelNameReplacementOptions))]
[JsonSerializable(typeof(AddApiKeyHeaderFromEnvOptions))]
[JsonSerializable(typeof(TransactionContextLoggingOptions))]
[JsonSerializable(typeof(ResponseContentOptions))]
[JsonSerializable(typeof(ToolCallOptions))]
[JsonSerializable(typeof(BackendCallOptions))]
[JsonSerializable(typeof(IncrementIntegersOptions))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
