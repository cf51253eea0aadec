namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>Writes policy files to disk for tests.</summary>
internal static class PolicyFiles
{
    public static string Write(string json)
    {
        var path = Path.Combine(Path.GetTempPath(), $"luthien-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>The contract's chain without the response policies (not built yet).</summary>
    public const string RequestSideChain = """
        { "type": "SerialPolicy", "config": { "name": "root", "policies": [
          { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
          { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
          { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } },
          { "type": "TransactionContextLoggingPolicy", "config": { "log_level": "Information" } },
          { "type": "SendBackendRequest", "config": {} }
        ] } }
        """;
}
