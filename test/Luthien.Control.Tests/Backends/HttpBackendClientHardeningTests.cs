
namespace Luthien.Control.Tests.Backends;

/// <summary>The backend request never leaves BaseUrl's path and carries only headers that may cross the proxy.</summary>
public class HttpBackendClientHardeningTests
{
    private static readonly BackendOptions Backend = new() { BaseUrl = new Uri("http://h/v1"), ApiKey = "backend-key" };

    [TestCase("../internal/admin")]
    [TestCase("models/../../internal")]
    [TestCase("..\\..\\internal/admin")]
    [TestCase("models/%2e%2e/%2e%2e/internal")]
    [TestCase("models/%2E%2E%2Finternal")]
    [TestCase("models/..%5Cinternal")]
    public void BuildUri_PathLeavingBase_Throws400(string path)
    {
        var ex = Assert.Throws<InvalidRequestException>(() => HttpBackendClient.BuildUri(new Uri("http://h/v1"), path, null));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Code, Is.EqualTo("invalid_request"));
    }

    [Test]
    public void BuildUri_BaseWithoutPath_AllowsAnyCanonicalPath()
    {
        Assert.That(HttpBackendClient.BuildUri(new Uri("http://h"), "v1/models", "?a=b&c=%2F").ToString(), Is.EqualTo("http://h/v1/models?a=b&c=%2F"));
    }

    [Test]
    public void BuildUri_SiblingOfBasePath_Throws400()
    {
        Assert.Throws<InvalidRequestException>(() => HttpBackendClient.BuildUri(new Uri("http://h/v1"), "../v10/models", null));
    }

    [Test]
    public void BuildRequest_HeaderNamedInConnection_IsNotForwarded()
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("X-Kept", "1"));

        using var request = HttpBackendClient.BuildRequest(transaction, Backend);

        Assert.That(request.Headers.Contains("X-Hop"), Is.False);
        Assert.That(request.Headers.Contains("X-Kept"), Is.True);
    }

    [TestCase("x-goog-api-key")]
    [TestCase("X-Auth-Token")]
    [TestCase("Cookie")]
    public void BuildRequest_BuiltInCredentialHeader_IsNotForwarded(string name)
    {
        var transaction = TestTransactions.Passthrough("GET", "models", (name, "secret"));

        using var request = HttpBackendClient.BuildRequest(transaction, Backend);

        Assert.That(request.Headers.Contains(name), Is.False);
    }

    [Test]
    public void BuildRequest_ConfiguredCredentialHeader_IsNotForwarded()
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("X-Tenant-Pass", "secret"));
        transaction.Request.Credentials = CredentialHeaders.Create(["X-Tenant-Pass"]);

        using var request = HttpBackendClient.BuildRequest(transaction, Backend);

        Assert.That(request.Headers.Contains("X-Tenant-Pass"), Is.False);
    }

    [Test]
    public void BuildRequest_NonAsciiHeaderValue_Throws400NamingHeaderNotValue()
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("X-Name", "caf\u00e9-secret"));

        var ex = Assert.Throws<InvalidRequestException>(() => HttpBackendClient.BuildRequest(transaction, Backend));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Message, Does.Contain("X-Name").And.Not.Contain("secret"));
    }

    [Test]
    public void BuildRequest_NonAsciiCredentialHeader_IsDroppedNotRefused()
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("x-api-key", "caf\u00e9"));

        using var request = HttpBackendClient.BuildRequest(transaction, Backend);

        Assert.That(request.Headers.Contains("x-api-key"), Is.False);
    }
}
