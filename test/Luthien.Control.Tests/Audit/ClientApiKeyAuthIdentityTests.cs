using Microsoft.Extensions.Options;
using NSubstitute;

namespace Luthien.Control.Tests.Audit;

public sealed class ClientApiKeyAuthIdentityTests
{
    private static Transaction WithKey(string key) => TestTransactions.ChatWithText("hi", ("Authorization", "Bearer " + key));

    [Test]
    public async Task ApplyAsync_ConfiguredKey_NamedByPositionInData()
    {
        var policy = new ClientApiKeyAuthPolicy(["k-one", "k-two"]);
        var transaction = WithKey("k-two");

        await policy.ApplyAsync(transaction, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        Assert.That(transaction.Data.GetOrDefault(ClientIdentity.Key, new ClientIdentity()).KeyName, Is.EqualTo("keys[1]"));
        Assert.That(transaction.Decisions, Is.EqualTo(new[] { new PolicyDecision("ClientApiKeyAuth", "allow", "keys[1]") }));
        Assert.That(TransactionPath.Resolve(transaction, "data.client.key_name")?.GetValue<string>(), Is.EqualTo("keys[1]"));
    }

    [Test]
    public void ApplyAsync_WrongKey_RejectDecisionWithoutTheKey()
    {
        var policy = new ClientApiKeyAuthPolicy(["k-one"]);
        var transaction = WithKey("k-wrong");

        Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.ApplyAsync(transaction, (_, _) => ValueTask.CompletedTask, CancellationToken.None));
        Assert.That(transaction.Decisions.Single().Action, Is.EqualTo("reject"));
        Assert.That(transaction.Decisions.Single().ToString(), Does.Not.Contain("k-wrong"));
    }

    [Test]
    public async Task ApplyAsync_DatabaseKey_NamedFromStore()
    {
        var store = Substitute.For<IControlStore>();
        store.FindActiveAsync(ClientKeyHash.Of("lck-db"), Arg.Any<CancellationToken>()).Returns(new StoredClientKey(7, "ci-bot", DateTime.UtcNow, null));
        var options = Options.Create(new LuthienOptions { TransactionLog = new TransactionLogOptions { Provider = TransactionLogProvider.Sqlite, ConnectionString = "x" } });
        var cache = new ClientKeyCache(new ControlStores(options, [new ControlStoreRegistration(TransactionLogProvider.Sqlite, "t", _ => store)]), options, TimeProvider.System);
        var transaction = WithKey("lck-db");

        await new ClientApiKeyAuthPolicy(cache).ApplyAsync(transaction, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        Assert.That(transaction.Data.GetOrDefault(ClientIdentity.Key, new ClientIdentity()).KeyName, Is.EqualTo("ci-bot"));
    }

    [Test]
    public async Task ApplyAsync_HostUserKnown_KeyNameAdded()
    {
        var transaction = WithKey("k-one");
        transaction.Data.Set(ClientIdentity.Key, new ClientIdentity { UserName = "alice" });

        await new ClientApiKeyAuthPolicy(["k-one"]).ApplyAsync(transaction, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        var identity = transaction.Data.GetOrDefault(ClientIdentity.Key, new ClientIdentity());
        Assert.That((identity.UserName, identity.KeyName), Is.EqualTo(("alice", "keys[0]")));
    }

    [Test]
    public void RecordDecision_ManyDecisions_Bounded()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        for (var i = 0; i < Transaction.MaxDecisions + 50; i++)
        {
            transaction.RecordDecision(new PolicyDecision("P", "a"));
        }

        Assert.That(transaction.Decisions, Has.Count.EqualTo(Transaction.MaxDecisions));
    }
}
