namespace Luthien.Control.Tests;

public class TransactionRequestTests
{
    [TestCase("Authorization", "Bearer k-1", "k-1")]
    [TestCase("Authorization", "bearer k-2", "k-2")]
    [TestCase("api-key", "k-3", "k-3")]
    [TestCase("Authorization", "Basic abc", null)]
    [TestCase("X-Other", "k", null)]
    public void ClientApiKey_Header_ReadsKey(string header, string value, string? expected)
    {
        var transaction = TestTransactions.ChatWithText("hi", (header, value));

        Assert.That(transaction.Request.ClientApiKey, Is.EqualTo(expected));
    }

    [Test]
    public void GetRedactedHeaders_Credentials_AreHidden()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer secret-value"), ("api-key", "other-secret"), ("User-Agent", "ua"));

        var headers = transaction.Request.GetRedactedHeaders();

        Assert.That(headers["Authorization"], Is.EqualTo("***"));
        Assert.That(headers["api-key"], Is.EqualTo("***"));
        Assert.That(headers["User-Agent"], Is.EqualTo("ua"));
    }

    [Test]
    public void Model_SetOnChat_ChangesTheBody()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        transaction.Request.Model = "other";

        Assert.That(transaction.Request.Chat!.Payload["model"]!.GetValue<string>(), Is.EqualTo("other"));
    }

    [Test]
    public void Model_SetOnPassthrough_Throws()
    {
        var transaction = TestTransactions.Passthrough();

        Assert.That(transaction.Request.Model, Is.Null);
        Assert.Throws<InvalidOperationException>(() => transaction.Request.Model = "m");
    }

    [Test]
    public void EnumerateTexts_ChatWithStringAndParts_EveryText()
    {
        var transaction = TestTransactions.Chat("""
            {"model":"m","messages":[{"role":"system","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"image_url","image_url":{"url":"x"}}]}]}
            """);

        Assert.That(transaction.Request.EnumerateTexts(), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void EnumerateTexts_Passthrough_Nothing()
    {
        Assert.That(TestTransactions.Passthrough().Request.EnumerateTexts(), Is.Empty);
    }
}
