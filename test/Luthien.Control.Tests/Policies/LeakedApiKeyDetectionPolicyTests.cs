
namespace Luthien.Control.Tests.Policies;

public class LeakedApiKeyDetectionPolicyTests
{
    private static readonly string OpenAiKey = "sk-" + new string('a', 24) + new string('B', 24);

    [Test]
    public void ApplyAsync_DefaultPatternsAndOpenAiKey_Throws403WithoutSecret()
    {
        var policy = new LeakedApiKeyDetectionPolicy();
        var transaction = TestTransactions.ChatWithText($"my key is {OpenAiKey}, thanks");

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.RunAsync(transaction));

        Assert.That(ex!.StatusCode, Is.EqualTo(403));
        Assert.That(ex.Code, Is.EqualTo("content_policy_violation"));
        Assert.That(ex.Message, Does.Not.Contain(OpenAiKey));
    }

    [TestCase("sk-proj-AbCdEf_GhIjKlMnOpQr-StUvWxYz0123456789")]
    [TestCase("sk-svcacct-AbCdEfGhIjKlMnOpQrStUvWxYz_0123")]
    [TestCase("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz012")]
    public void ApplyAsync_DefaultPatternsAndKeyOfTodaysForms_Throws403(string key)
    {
        var policy = new LeakedApiKeyDetectionPolicy();
        var transaction = TestTransactions.ChatWithText($"use {key} please");

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.RunAsync(transaction));

        Assert.That(ex!.Message, Does.Not.Contain(key));
    }

    [Test]
    public void ApplyAsync_EmptyPatterns_UsesDefaults()
    {
        var policy = new LeakedApiKeyDetectionPolicy([]);
        var transaction = TestTransactions.ChatWithText(OpenAiKey);

        Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.RunAsync(transaction));
    }

    [Test]
    public void ApplyAsync_CleanText_Passes()
    {
        var policy = new LeakedApiKeyDetectionPolicy();
        var transaction = TestTransactions.ChatWithText("what is the weather in Paris? sk-short");

        Assert.DoesNotThrowAsync(async () => await policy.RunAsync(transaction));
    }

    [Test]
    public void ApplyAsync_CustomPatternInContentPart_Throws()
    {
        var policy = new LeakedApiKeyDetectionPolicy([@"SECRET-\d{4}"]);
        var transaction = TestTransactions.Chat("""{"messages":[{"role":"user","content":[{"type":"text","text":"code SECRET-1234"}]}]}""");

        Assert.ThrowsAsync<ControlPolicyException>(async () => await policy.RunAsync(transaction));
    }

    [Test]
    public void Constructor_InvalidPattern_ThrowsNamingIndex()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new LeakedApiKeyDetectionPolicy(["ok", "(unclosed"]));

        Assert.That(ex!.Message, Does.Contain("patterns[1]"));
    }
}
