using System.Collections.Concurrent;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>The policy chains of the coverage matrix: each built-in policy alone behind the client-key check.</summary>
public enum Chain
{
    /// <summary>ClientApiKeyAuth, LeakedApiKeyDetection, ModelNameReplacement (<c>fast</c> → <c>gpt-4o-mini</c>).</summary>
    RequestSide,

    /// <summary>ResponseContentPolicy redacting <c>sk-…</c> keys with <c>[REDACTED]</c>.</summary>
    Redact,

    /// <summary>ResponseContentPolicy blocking <c>sk-…</c> keys.</summary>
    Block,

    /// <summary>ResponseContentPolicy redacting <c>sk-…</c> keys in answer text only (<c>scope: ["text"]</c>).</summary>
    RedactTextOnly,

    /// <summary>ToolCallPolicy allowing only <c>get_weather</c>, and no <c>DROP TABLE</c> in its arguments.</summary>
    ToolCalls,

    /// <summary>TransactionContextLoggingPolicy.</summary>
    Logging,

    /// <summary>NoopPolicy.</summary>
    Noop,
}

/// <summary>
/// One scripted backend and one in-process app (test server) per policy chain and backend style, shared by every
/// coverage test in this namespace: apps start on first use and stop once, at the end.
/// </summary>
[SetUpFixture]
public sealed class CoverageHosts
{
    public const string ClientKey = "client-key-1";

    private static readonly ConcurrentDictionary<(Chain, bool, BackendKind), Lazy<Task<LuthienTestHost>>> Hosts = new();

    internal static FakeBackend Backend { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartBackendAsync() => Backend = await FakeBackend.StartAsync();

    [OneTimeTearDown]
    public async Task StopAllAsync()
    {
        foreach (var host in Hosts.Values.Where(h => h.IsValueCreated))
        {
            await (await host.Value).DisposeAsync();
        }

        Hosts.Clear();
        await Backend.DisposeAsync();
    }

    /// <summary>
    /// The app running <paramref name="chain"/> in front of the scripted backend, called in OpenAI's or Azure's style,
    /// through the raw backend or an IChatClient (<paramref name="kind"/>).
    /// </summary>
    internal static Task<LuthienTestHost> GetAsync(Chain chain, BackendKind kind, bool azureBackend = false)
    {
        if (azureBackend)
        {
            BackendKinds.AssumeRawWire(kind, "Luthien:Backend:Style (Azure URLs, api-version, api-key) configures the HTTP backend.");
        }

        return Hosts.GetOrAdd((chain, azureBackend, kind), key => new Lazy<Task<LuthienTestHost>>(() => StartAsync(key.Item1, key.Item2, key.Item3))).Value;
    }

    private static Task<LuthienTestHost> StartAsync(Chain chain, bool azureBackend, BackendKind kind)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:PolicyFile"] = PolicyFiles.Write(PolicyFile(chain)),
        };
        if (azureBackend)
        {
            // The resource's endpoint (the library adds /openai), called with deployment paths, api-version and api-key.
            settings["Luthien:Backend:BaseUrl"] = new Uri(Backend.BaseUrl, "/").ToString();
            settings["Luthien:Backend:Style"] = "Azure";
        }
        else
        {
            settings["Luthien:Backend:BaseUrl"] = Backend.BaseUrl.ToString();
        }

        return LuthienTestHost.StartAsync(settings, luthien => BackendKinds.Use(luthien, kind, Backend.BaseUrl));
    }

    private static string PolicyFile(Chain chain)
    {
        var policy = chain switch
        {
            Chain.RequestSide => """
                { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
                { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } },
                """,
            Chain.Redact => """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } },""",
            Chain.Block => """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "block" } },""",
            Chain.RedactTextOnly => """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]", "scope": ["text"] } },""",
            Chain.ToolCalls => """{ "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"], "argument_rules": { "get_weather": { "block": ["(?i)drop\\s+table"] } } } },""",
            Chain.Logging => """{ "type": "TransactionContextLoggingPolicy", "config": { "log_level": "Information" } },""",
            _ => """{ "type": "NoopPolicy", "config": {} },""",
        };
        return $$"""
            { "type": "SerialPolicy", "config": { "name": "root", "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["{{ClientKey}}"] } },
              {{policy}}
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """;
    }
}
