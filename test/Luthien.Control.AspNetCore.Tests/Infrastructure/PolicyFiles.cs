namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>Writes policy files to disk for tests, in a directory of this test run that is removed at its end.</summary>
internal static class PolicyFiles
{
    private static readonly string Directory = Path.Combine(Path.GetTempPath(), $"luthien-tests-{Guid.NewGuid():N}");

    public static string Write(string json)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Removes every file written by this run.</summary>
    public static void DeleteAll()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    /// <summary>The contract's request-side chain (no response policies).</summary>
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
