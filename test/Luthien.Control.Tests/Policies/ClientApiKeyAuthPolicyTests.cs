
namespace Luthien.Control.Tests.Policies;

public class ClientApiKeyAuthPolicyTests
{
    private readonly ClientApiKeyAuthPolicy _policy = new(["client-key-1", "client-key-2"]);

    [Test]
    public void ApplyAsync_KeyMissing_Throws401()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await _policy.RunAsync(transaction));

        Assert.That(ex!.StatusCode, Is.EqualTo(401));
        Assert.That(ex.Code, Is.EqualTo("invalid_api_key"));
    }

    [Test]
    public void ApplyAsync_KeyWrong_Throws401WithoutEchoingKey()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer wrong-key-value"));

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await _policy.RunAsync(transaction));

        Assert.That(ex!.StatusCode, Is.EqualTo(401));
        Assert.That(ex.Message, Does.Not.Contain("wrong-key-value"));
    }

    [TestCase("Authorization", "Bearer client-key-2")]
    [TestCase("api-key", "client-key-1")]
    public void ApplyAsync_KeyAccepted_Passes(string header, string value)
    {
        var transaction = TestTransactions.ChatWithText("hi", (header, value));

        Assert.DoesNotThrowAsync(async () => await _policy.RunAsync(transaction));
    }

    [Test]
    public void ApplyAsync_NoKeysConfigured_RefusesEveryRequest()
    {
        var policy = new ClientApiKeyAuthPolicy([]);
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer anything"));

        Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.RunAsync(transaction));
    }

    [Test]
    public void ApplyAsync_PassthroughRequest_IsAlsoAuthenticated()
    {
        var transaction = TestTransactions.Passthrough();

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await _policy.RunAsync(transaction));

        Assert.That(ex!.StatusCode, Is.EqualTo(401));
    }
}
