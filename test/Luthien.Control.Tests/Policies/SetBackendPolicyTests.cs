
namespace Luthien.Control.Tests.Policies;

public class SetBackendPolicyTests
{
    [Test]
    public async Task ApplyAsync_UrlConfigured_SetsBackendUrl()
    {
        var transaction = TestTransactions.Passthrough();

        await new SetBackendPolicy("https://api.example.test/v1/").RunAsync(transaction);

        Assert.That(transaction.Request.BackendUrl, Is.EqualTo(new Uri("https://api.example.test/v1/")));
    }

    [TestCase("not a url")]
    [TestCase("ftp://example.test/v1")]
    public void Constructor_BadUrl_Throws(string url)
    {
        Assert.Throws<ArgumentException>(() => _ = new SetBackendPolicy(url));
    }

    [Test]
    public async Task NoopPolicy_ApplyAsync_ChangesNothing()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await new NoopPolicy().RunAsync(transaction);

        Assert.That(transaction.Response.HasValue, Is.False);
        Assert.That(transaction.Request.BackendUrl, Is.Null);
    }
}
