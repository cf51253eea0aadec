using System.Text.Json.Nodes;
using NSubstitute;

namespace Luthien.Control.Tests.Policies;

public sealed class BackendCallPolicyTests
{
    private string _variable = null!;

    [SetUp]
    public void SetVariable()
    {
        _variable = "LUTHIEN_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(_variable, "sk-env-secret-value");
    }

    [TearDown]
    public void ClearVariable() => Environment.SetEnvironmentVariable(_variable, null);

    [Test]
    public async Task ApplyAsync_ChatRequest_SendsWithSpecEndpointKeyModelAndArgs()
    {
        var (backend, seen) = RecordingBackend();
        var policy = new BackendCallPolicy(backend, "gpt-4o", new Uri("http://127.0.0.1:6401/v1"), _variable,
            [new("temperature", 0.7), new("response_format", new JsonObject { ["type"] = "json_object" })]);
        var transaction = TestTransactions.Chat("""{"model":"fast","temperature":1,"messages":[{"role":"user","content":"hi"}]}""");

        await policy.RunAsync(transaction);

        Assert.That(seen, Has.Count.EqualTo(1));
        Assert.That(seen[0], Is.EqualTo("""http://127.0.0.1:6401/v1 sk-env-secret-value {"model":"gpt-4o","temperature":0.7,"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"""));
    }

    [Test]
    public async Task ApplyAsync_ArgsNameTheModel_SpecModelWins()
    {
        // As there: request_args are applied first, then the spec's model.
        var (backend, seen) = RecordingBackend();
        var transaction = TestTransactions.ChatWithText("hi");

        await new BackendCallPolicy(backend, "spec-model", null, _variable, [new("model", "args-model")]).RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("spec-model"));
    }

    [Test]
    public async Task ApplyAsync_EmptyModel_KeepsTheRequests()
    {
        var (backend, _) = RecordingBackend();
        var transaction = TestTransactions.ChatWithText("hi");

        await new BackendCallPolicy(backend, "", null, _variable).RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o"));
    }

    [Test]
    public async Task ApplyAsync_DefaultModel_IsLuthienControls()
    {
        var (backend, _) = RecordingBackend();
        var transaction = TestTransactions.ChatWithText("hi");

        await new BackendCallPolicy(backend).RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task ApplyAsync_VariableUnset_KeepsTheKeyAlreadyChosenNeverTheClients()
    {
        Environment.SetEnvironmentVariable(_variable, null);
        var (backend, _) = RecordingBackend();
        var configured = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer client-key"));
        var fromEarlierPolicy = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer client-key"));
        fromEarlierPolicy.Request.BackendApiKey = "sk-from-earlier-policy";
        var policy = new BackendCallPolicy(backend, apiKeyEnvVar: _variable);

        await policy.RunAsync(configured);
        await policy.RunAsync(fromEarlierPolicy);

        Assert.That(configured.Request.BackendApiKey, Is.Null, "null sends the configured backend key");
        Assert.That(fromEarlierPolicy.Request.BackendApiKey, Is.EqualTo("sk-from-earlier-policy"));
    }

    [Test]
    public async Task ApplyAsync_ResponsesRequest_SentToo()
    {
        var (backend, seen) = RecordingBackend();

        await new BackendCallPolicy(backend, "gpt-4o", null, _variable).RunAsync(TestTransactions.Responses());

        Assert.That(seen, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ApplyAsync_Passthrough_SentWithTheKeyAndBodyUnchanged()
    {
        // luthien_control has no pass-through; here a chain ending in this policy must answer GET /v1/models too.
        var (backend, seen) = RecordingBackend();
        var transaction = TestTransactions.Passthrough();

        await new BackendCallPolicy(backend, "gpt-4o", new Uri("http://127.0.0.1:6401/v1"), _variable, [new("temperature", 0.2)]).RunAsync(transaction);

        Assert.That(seen, Is.EqualTo(new[] { "http://127.0.0.1:6401/v1 sk-env-secret-value " }));
    }

    [Test]
    public async Task ApplyAsync_AfterSending_RestOfThePipelineSeesTheAnswer()
    {
        var (backend, _) = RecordingBackend();
        int? status = null;

        await new BackendCallPolicy(backend, apiKeyEnvVar: _variable).ApplyAsync(TestTransactions.ChatWithText("hi"), (t, _) => { status = t.Response.StatusCode; return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.That(status, Is.EqualTo(200));
    }

    [Test]
    public async Task ApplyAsync_Key_NotInDecisionsAndInTheAuditMask()
    {
        var (backend, _) = RecordingBackend();
        var transaction = TestTransactions.ChatWithText("hi");
        var policy = new BackendCallPolicy(backend, "gpt-4o", null, _variable);

        await policy.RunAsync(transaction);

        Assert.That(string.Join(" ", transaction.Decisions), Does.Not.Contain("sk-env-secret-value"));
        Assert.That(policy.ToString(), Does.Not.Contain("sk-env-secret-value"));
        Assert.That(((ISecretPatterns)policy).SecretPatterns, Is.EqualTo(new[] { "sk-env-secret-value" }));
    }

    [Test]
    public void AuditMask_ChainWithThePolicyInABranch_KeyMasked()
    {
        var policy = new BackendCallPolicy(Substitute.For<IBackendClient>(), apiKeyEnvVar: _variable);
        var branch = new BranchingPolicy([], policy);

        var mask = AuditMask.For(new SerialPolicy([branch]));

        Assert.That(mask.Apply("echoed sk-env-secret-value back"), Does.Not.Contain("sk-env-secret-value"));
    }

    [TestCase("stream")]
    [TestCase("stream_options")]
    public void Constructor_ArgsSetStreaming_Throws(string name)
    {
        Assert.Throws<ArgumentException>(() => new BackendCallPolicy(Substitute.For<IBackendClient>(), requestArgs: [new(name, true)]));
    }

    [TestCase("ftp://host/v1")]
    [TestCase("file:///etc/passwd")]
    public void Constructor_EndpointNotHttp_Throws(string url)
    {
        Assert.Throws<ArgumentException>(() => new BackendCallPolicy(Substitute.For<IBackendClient>(), apiEndpoint: new Uri(url)));
    }

    [Test]
    public async Task ApplyAsync_TwoRequests_ArgsNotSharedBetweenThem()
    {
        var (backend, _) = RecordingBackend();
        var policy = new BackendCallPolicy(backend, "gpt-4o", null, _variable, [new("metadata", new JsonObject { ["team"] = "a" })]);
        var first = TestTransactions.ChatWithText("hi");
        var second = TestTransactions.ChatWithText("hi");

        await policy.RunAsync(first);
        first.Request.Payload!["metadata"]!["team"] = "changed";
        await policy.RunAsync(second);

        Assert.That(second.Request.Payload!["metadata"]!["team"]!.GetValue<string>(), Is.EqualTo("a"));
    }

    private static (IBackendClient Backend, List<string> Seen) RecordingBackend()
    {
        var seen = new List<string>();
        var backend = Substitute.For<IBackendClient>();
        backend.SendAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>()).Returns(call =>
        {
            var t = call.Arg<Transaction>();
            seen.Add($"{t.Request.BackendUrl} {t.Request.BackendApiKey} {t.Request.Payload?.ToJsonString()}");
            t.Response.SetJson(200, new JsonObject { ["choices"] = new JsonArray() });
            return ValueTask.CompletedTask;
        });
        return (backend, seen);
    }
}
