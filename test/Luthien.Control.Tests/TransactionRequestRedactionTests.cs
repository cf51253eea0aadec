
namespace Luthien.Control.Tests;

public class TransactionRequestRedactionTests
{
    [TestCase("x-goog-api-key")]
    [TestCase("X-Auth-Token")]
    [TestCase("X-Session-Id")]
    [TestCase("X-Vendor-Secret")]
    [TestCase("X-My-Password")]
    [TestCase("Idempotency-Key")]
    [TestCase("X-Custom-Auth")]
    public void GetRedactedHeaders_NameLooksLikeCredential_IsHidden(string name)
    {
        var transaction = TestTransactions.ChatWithText("hi", (name, "value-123"));

        Assert.That(transaction.Request.GetRedactedHeaders()[name], Is.EqualTo("***"));
    }

    [Test]
    public void GetRedactedHeaders_ConfiguredCredential_IsHidden()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("X-Tenant-Pass", "value-123"));
        transaction.Request.Credentials = CredentialHeaders.Create(["X-Tenant-Pass"]);

        Assert.That(transaction.Request.GetRedactedHeaders()["X-Tenant-Pass"], Is.EqualTo("***"));
    }

    [Test]
    public void GetRedactedHeaders_OrdinaryHeader_IsKept()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("OpenAI-Beta", "assistants=v2"));

        Assert.That(transaction.Request.GetRedactedHeaders()["OpenAI-Beta"], Is.EqualTo("assistants=v2"));
    }
}
