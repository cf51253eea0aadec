using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;

namespace Luthien.Control.Tests.Loading;

/// <summary>
/// luthien_control's own policy files (Fixtures/luthien_control, origin in its README.md), loaded unchanged through the
/// registration a host uses, with a fake backend: each decides as it does in luthien_control.
/// </summary>
public sealed class LuthienControlFixturesTests
{
    private const string EnvKey = "OPENAI_API_KEY";
    private const string DatabaseKey = "lck-fixture-key";
    private string? _savedEnvKey;

    [SetUp]
    public void SaveEnvironment()
    {
        _savedEnvKey = Environment.GetEnvironmentVariable(EnvKey);
        Environment.SetEnvironmentVariable(EnvKey, "sk-backend-from-env");
    }

    [TearDown]
    public void RestoreEnvironment() => Environment.SetEnvironmentVariable(EnvKey, _savedEnvKey);

    [Test]
    public async Task SamplePolicy_Request_SentWithKeyFromEnvironment()
    {
        var backend = new FakeBackend();
        using var provider = Build("docs/examples/sample_policy.json", backend, store: false);
        var transaction = TestTransactions.ChatWithText("hi");

        await Root(provider).RunAsync(transaction);

        Assert.That(backend.Sent.Single().Key, Is.EqualTo("sk-backend-from-env"));
        Assert.That(transaction.Response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public void SamplePolicy_EnvironmentVariableUnset_FailsNamingItNotItsValue()
    {
        Environment.SetEnvironmentVariable(EnvKey, null);
        var backend = new FakeBackend();
        using var provider = Build("docs/examples/sample_policy.json", backend, store: false);

        var ex = Assert.ThrowsAsync<ControlFailureException>(async () => await Root(provider).RunAsync(TestTransactions.ChatWithText("hi")));

        Assert.That(ex!.Message, Does.Contain(EnvKey));
        Assert.That(backend.Sent, Is.Empty);
    }

    [TestCase("tests/e2e/e2e_policy.json")]
    [TestCase("tests/e2e/increment_integers_e2e_policy.json")]
    [TestCase("scripts/test_streaming_policy.json")]
    [TestCase("alembic/93bd05330754_revised_add_root_policy.json")]
    public void ClientApiKeyAuthWithoutKeys_NoStore_FailsAtStartSayingWhatToConfigure(string fixture)
    {
        using var provider = Build(fixture, new FakeBackend(), store: false);

        var ex = Assert.Throws<PolicyLoadException>(() => _ = Root(provider));

        Assert.That(ex!.Message, Does.Contain("ClientApiKeyAuth").And.Contain("$.config.policies[0]")
            .And.Contain("keys").And.Contain("Luthien:TransactionLog:Provider"));
    }

    [TestCase("tests/e2e/e2e_policy.json")]
    [TestCase("tests/e2e/increment_integers_e2e_policy.json")]
    [TestCase("scripts/test_streaming_policy.json")]
    [TestCase("alembic/93bd05330754_revised_add_root_policy.json")]
    public async Task ClientApiKeyAuthWithoutKeys_StoreKey_Accepted(string fixture)
    {
        var backend = new FakeBackend();
        using var provider = Build(fixture, backend, store: true);
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer " + DatabaseKey));

        await Root(provider).RunAsync(transaction);

        Assert.That(backend.Sent, Has.Count.EqualTo(1));
        Assert.That(transaction.Data.GetOrDefault(ClientIdentity.Key, new ClientIdentity()).KeyName, Is.EqualTo("fixture-client"));
    }

    [TestCase("tests/e2e/e2e_policy.json")]
    [TestCase("tests/e2e/increment_integers_e2e_policy.json")]
    [TestCase("scripts/test_streaming_policy.json")]
    [TestCase("alembic/93bd05330754_revised_add_root_policy.json")]
    public void ClientApiKeyAuthWithoutKeys_UnknownKey_Refused401BeforeTheBackend(string fixture)
    {
        var backend = new FakeBackend();
        using var provider = Build(fixture, backend, store: true);

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () =>
            await Root(provider).RunAsync(TestTransactions.ChatWithText("hi", ("Authorization", "Bearer lck-not-a-key"))));

        Assert.That((ex!.StatusCode, ex.Code), Is.EqualTo((401, "invalid_api_key")));
        Assert.That(backend.Sent, Is.Empty);
    }

    [Test]
    public async Task E2EPolicy_Request_SentToItsBackendWithTheEnvironmentKey()
    {
        var backend = new FakeBackend();
        using var provider = Build("tests/e2e/e2e_policy.json", backend, store: true);

        await Root(provider).RunAsync(TestTransactions.ChatWithText("hi", ("Authorization", "Bearer " + DatabaseKey)));

        var sent = backend.Sent.Single();
        Assert.That((sent.Url, sent.Key), Is.EqualTo(("https://api.openai.com/v1/", "sk-backend-from-env")));
    }

    [Test]
    public void E2EPolicy_LeakedKeyInPrompt_Refused403BeforeTheBackend()
    {
        var backend = new FakeBackend();
        using var provider = Build("tests/e2e/e2e_policy.json", backend, store: true);
        var transaction = TestTransactions.ChatWithText("my key is sk-" + new string('a', 24) + new string('7', 24), ("Authorization", "Bearer " + DatabaseKey));

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await Root(provider).RunAsync(transaction));

        Assert.That(ex!.StatusCode, Is.EqualTo(403));
        Assert.That(backend.Sent, Is.Empty);
    }

    [Test]
    public async Task IncrementIntegersPolicy_Answer_EveryIntegerPlusOne()
    {
        var backend = new FakeBackend { AnswerText = "I have 3 apples, -1 pears and 99 plums." };
        using var provider = Build("tests/e2e/increment_integers_e2e_policy.json", backend, store: true);
        var transaction = TestTransactions.ChatWithText("count", ("Authorization", "Bearer " + DatabaseKey));

        await Root(provider).RunAsync(transaction);

        Assert.That(transaction.Response.Payload?["choices"]?[0]?["message"]?["content"]?.GetValue<string>(),
            Is.EqualTo("I have 4 apples, 0 pears and 100 plums."));
    }

    [Test]
    public async Task RootPolicyOfItsDatabase_Request_SentWithTheConfiguredBackendKey()
    {
        var backend = new FakeBackend();
        using var provider = Build("alembic/93bd05330754_revised_add_root_policy.json", backend, store: true, backendKey: "sk-configured");

        await Root(provider).RunAsync(TestTransactions.ChatWithText("hi", ("Authorization", "Bearer " + DatabaseKey)));

        Assert.That(backend.Sent.Single().Key, Is.EqualTo("sk-configured"));
    }

    [Test]
    public async Task ModelNameReplacementExample_FlatFormAsAPartOfAChain_MapsTheModel()
    {
        var backend = new FakeBackend();
        using var provider = Build("docs/examples/model_name_replacement_policy.md.1.json", backend, store: false);
        var policy = new PolicyLoader(provider.GetRequiredService<PolicyRegistry>(), provider).LoadFile(Fixture("docs/examples/model_name_replacement_policy.md.1.json"));
        var transaction = TestTransactions.Chat("""{"model":"gemini-2.5-pro-preview-05-06","messages":[{"role":"user","content":"hi"}]}""");

        await policy.RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o"));
    }

    [Test]
    public void ModelNameReplacementExample_FlatFormAsTheRootPolicy_RefusedAtStartAsAChainThatNeverAnswers()
    {
        // The documentation's example is one policy to put in a chain: alone as the root nothing would ever answer.
        using var provider = Build("docs/examples/model_name_replacement_policy.md.1.json", new FakeBackend(), store: false);

        var ex = Assert.Throws<PolicyLoadException>(() => _ = Root(provider));

        Assert.That(ex!.Message, Does.Contain("never produces a response").And.Contain("SendBackendRequest"));
    }

    [Test]
    public void ModelNameReplacementSerialExample_Components_RefusedAtStartNamingTheField()
    {
        using var provider = Build("docs/examples/model_name_replacement_policy.md.2.json", new FakeBackend(), store: false);

        var ex = Assert.Throws<PolicyLoadException>(() => _ = Root(provider));

        Assert.That(ex!.Message, Does.Contain("SerialPolicy").And.Contain("'components'").And.Contain("policies"));
    }

    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "luthien_control", name);

    private static ControlPolicy Root(ServiceProvider provider) => provider.GetRequiredService<RootPolicyProvider>().Root;

    private static ServiceProvider Build(string fixture, FakeBackend backend, bool store, string? backendKey = null)
    {
        var services = new ServiceCollection();
        services.AddLuthienControl(o =>
        {
            o.PolicyFile = Fixture(fixture);
            o.Backend.ApiKey = backendKey;
            if (store)
            {
                o.TransactionLog.Provider = TransactionLogProvider.Sqlite;
                o.TransactionLog.ConnectionString = "Data Source=unused";
            }
        });
        services.AddSingleton<IBackendClient>(backend);
        var database = Substitute.For<IControlStore>();
        database.FindActiveAsync(ClientKeyHash.Of(DatabaseKey), Arg.Any<CancellationToken>())
            .Returns(new StoredClientKey(1, "fixture-client", DateTime.UtcNow, null));
        services.AddSingleton(new ControlStoreRegistration(TransactionLogProvider.Sqlite, "test", _ => database));
        return services.BuildServiceProvider();
    }

    /// <summary>Records what would reach the backend and answers with one chat completion.</summary>
    private sealed class FakeBackend : IBackendClient
    {
        public List<(string? Url, string? Key, string? Model)> Sent { get; } = [];

        public string AnswerText { get; init; } = "hello";

        public ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
        {
            Sent.Add((transaction.Request.BackendUrl?.ToString(), transaction.Request.BackendApiKey, transaction.Request.Model));
            transaction.Response.SetJson(200, new JsonObject
            {
                ["id"] = "chatcmpl-1",
                ["object"] = "chat.completion",
                ["created"] = 1,
                ["model"] = transaction.Request.Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = AnswerText },
                    ["finish_reason"] = "stop",
                }),
            });
            return ValueTask.CompletedTask;
        }
    }
}
