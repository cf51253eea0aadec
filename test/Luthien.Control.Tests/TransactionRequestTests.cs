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
}
