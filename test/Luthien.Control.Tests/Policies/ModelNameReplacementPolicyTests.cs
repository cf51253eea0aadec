
namespace Luthien.Control.Tests.Policies;

public class ModelNameReplacementPolicyTests
{
    private readonly ModelNameReplacementPolicy _policy = new(new Dictionary<string, string> { ["fast"] = "gpt-4o-mini" });

    [Test]
    public async Task ApplyAsync_MappedModel_IsReplaced()
    {
        var transaction = TestTransactions.Chat("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""");

        await _policy.RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task ApplyAsync_UnmappedModel_IsUnchanged()
    {
        var transaction = TestTransactions.Chat("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        await _policy.RunAsync(transaction);

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o"));
    }
}
