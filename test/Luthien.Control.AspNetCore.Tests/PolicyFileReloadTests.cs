using System.Text;
using System.Text.Json;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.Sqlite;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// A changed policy file, through the real ASP.NET Core pipeline: the next request runs on the new chain, a stream under
/// way finishes on the chain it started with, and the audit log masks what the new chain's policies look for.
/// </summary>
public sealed class PolicyFileReloadTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private const string Head = "\"id\":\"chatcmpl-r\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\"";

    private FakeBackend _backend = null!;
    private string _folder = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _folder = Directory.CreateTempSubdirectory("luthien-reload-").FullName;
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _backend.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private static string Chain(string policy) =>
        $$"""{ "type": "SerialPolicy", "config": { "policies": [ {{policy}}, { "type": "SendBackendRequest", "config": {} } ] } }""";

    private static string Redacting(string pattern) =>
        Chain($$"""{ "type": "ResponseContentPolicy", "config": { "patterns": ["{{pattern}}"], "action": "redact", "replacement": "[REDACTED]" } }""");

    private static string Content(string text) =>
        $"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{JsonSerializer.Serialize(text)}}},\"finish_reason\":null}}]}}\n\n";

    private static string Stop() => $"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\n";

    private string WritePolicy(string json)
    {
        var path = Path.Combine(_folder, "policy.json");
        File.WriteAllText(path, json);
        return path;
    }

    private Task<LuthienTestHost> StartHostAsync(string policyFile, Dictionary<string, string?>? more = null, Action<LuthienControlBuilder>? configure = null)
    {
        var settings = new Dictionary<string, string?>(more ?? [])
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = policyFile,
        };
        return LuthienTestHost.StartAsync(settings, configure);
    }

    /// <summary>Rewrites the file and waits until the host has put it in force.</summary>
    private static async Task ReloadAsync(LuthienTestHost host, string path, string json)
    {
        var provider = host.Services.GetRequiredService<RootPolicyProvider>();
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.Reloaded += _ => reloaded.TrySetResult();
        File.WriteAllText(path, json);
        await reloaded.Task.WaitAsync(Generous);
    }

    private static async Task WaitForLogAsync(ListLoggerProvider logs, string text)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!logs.AllText.Contains(text, StringComparison.Ordinal))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"'{text}' was not logged in time");
            await Task.Delay(20);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(LuthienTestHost host, string body)
    {
        using var http = host.CreateClient();
        return await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
    }

    [Test]
    public async Task Request_AfterGoodChange_RunsOnNewChain()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        var path = WritePolicy(Chain("""{ "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "first-model" } } }"""));
        await using var host = await StartHostAsync(path);
        const string body = """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""";
        using (await PostAsync(host, body))
        {
        }

        await ReloadAsync(host, path, Chain("""{ "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "second-model" } } }"""));
        using var response = await PostAsync(host, body);

        var models = _backend.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("model").GetString()).ToList();
        Assert.That(models, Is.EqualTo(new[] { "first-model", "second-model" }));
    }

    [Test]
    public async Task Stream_ChangeWhileStreaming_StreamFinishesOnItsChainAndNextOnNew()
    {
        var secondHalf = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstHalfSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streams = 0;
        _backend.Handler = async c =>
        {
            await FakeBackend.Sse(c, Content("hello "));
            if (Interlocked.Increment(ref streams) == 1)
            {
                firstHalfSent.TrySetResult();
                await secondHalf.Task;
            }

            foreach (var piece in new[] { Content("SECRET-1234 bye"), Stop(), "data: [DONE]\n\n" })
            {
                await c.Response.WriteAsync(piece);
                await c.Response.Body.FlushAsync();
            }
        };
        var path = WritePolicy(Redacting("SECRET-[0-9]+"));
        await using var host = await StartHostAsync(path, new() { ["Luthien:Streaming:RequestUsage"] = "false" });
        const string body = """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

        var first = PostAsync(host, body);
        await firstHalfSent.Task.WaitAsync(Generous);
        await ReloadAsync(host, path, Chain("""{ "type": "NoopPolicy", "config": {} }"""));
        secondHalf.SetResult();
        using var firstResponse = await first.WaitAsync(Generous);
        var firstText = await firstResponse.Content.ReadAsStringAsync();
        using var secondResponse = await PostAsync(host, body);
        var secondText = await secondResponse.Content.ReadAsStringAsync();

        Assert.That(firstText, Does.Contain("[REDACTED] bye").And.Not.Contain("SECRET-1234").And.EndWith("data: [DONE]\n\n"));
        Assert.That(secondText, Does.Contain("SECRET-1234 bye"));
    }

    [Test]
    public async Task Request_AfterBadChange_OldChainServesAndWarningLogged()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"SECRET-1 here"},"finish_reason":"stop"}]}""");
        var path = WritePolicy(Redacting("SECRET-[0-9]+"));
        var logs = new ListLoggerProvider();
        var settings = new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = path,
        };
        await using var host = await LuthienTestHost.StartAsync(settings, services: s => s.AddLogging(b => b.AddProvider(logs)));

        File.WriteAllText(path, Chain("""{ "type": "ResponseContentPolicy", "config": { "patterns": ["(?<=x)lookbehind"], "action": "redact" } }"""));
        await WaitForLogAsync(logs, "was not loaded");

        using var response = await PostAsync(host, """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(text, Does.Contain("[REDACTED] here"));
        Assert.That(logs.AllText, Does.Contain("ResponseContentPolicy").And.Contain("$.config.policies[0]"));
    }

    [Test]
    public async Task AuditLog_AfterChange_NewChainsPatternsMasked()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        using var database = AuditDatabase.Create();
        var path = WritePolicy(Redacting("alpha-[0-9]{4}"));
        await using var host = await StartHostAsync(path, database.Settings(), luthien => luthien.AddSqliteStore());
        using (var before = await PostAsync(host, """{"model":"m","messages":[{"role":"user","content":"code alpha-1111 and bravo-2222"}]}"""))
        {
            var beforeRows = await database.RowsAsync(before.Headers.GetValues("x-luthien-transaction-id").Single());
            Assert.That(beforeRows["request"].ToJsonString(), Does.Not.Contain("alpha-1111"));
        }

        await ReloadAsync(host, path, Redacting("bravo-[0-9]{4}"));
        using var after = await PostAsync(host, """{"model":"m","messages":[{"role":"user","content":"code alpha-3333 and bravo-4444"}]}""");
        var rows = await database.RowsAsync(after.Headers.GetValues("x-luthien-transaction-id").Single());

        Assert.That(rows["request"].ToJsonString(), Does.Not.Contain("bravo-4444").And.Contain("[REDACTED]"));
    }
}
