
namespace Luthien.Control.Tests.Backends;

public class ProxyHeadersTests
{
    [TestCase("close, X-Hop", "x-hop", true)]
    [TestCase(" X-Hop ,keep-alive", "X-Hop", true)]
    [TestCase("X-Hop-Not", "X-Hop", false)]
    [TestCase("", "X-Hop", false)]
    public void IsNominated_ConnectionValue_FindsWholeTokensIgnoringCase(string connection, string name, bool expected)
    {
        Assert.That(ProxyHeaders.IsNominated(connection.AsSpan(), name), Is.EqualTo(expected));
    }

    [TestCase("x-goog-api-key")]
    [TestCase("X-Auth-Token")]
    [TestCase("Proxy-Authorization")]
    [TestCase("Cookie")]
    [TestCase("ocp-apim-subscription-key")]
    public void IsForwardedToBackend_BuiltInCredential_IsFalse(string name)
    {
        Assert.That(ProxyHeaders.IsForwardedToBackend(name), Is.False);
    }

    [TestCase("Set-Cookie")]
    [TestCase("set-cookie2")]
    public void IsHopByHop_BackendCookie_IsTrue(string name)
    {
        Assert.That(ProxyHeaders.IsHopByHop(name), Is.True);
    }

    [TestCase("plain value", true)]
    [TestCase("tab\there", true)]
    [TestCase("caf\u00e9", false)]
    [TestCase("line\nbreak", false)]
    [TestCase("del\u007f", false)]
    public void IsSendableValue_Value_OnlyPrintableAsciiAndTab(string value, bool expected)
    {
        Assert.That(ProxyHeaders.IsSendableValue(value), Is.EqualTo(expected));
    }

    [Test]
    public void CredentialHeaders_Create_AddsConfiguredNamesToBuiltIn()
    {
        var credentials = CredentialHeaders.Create(["X-Tenant-Pass", " "]);

        Assert.That(credentials.Contains("x-tenant-pass"), Is.True);
        Assert.That(credentials.Contains("Authorization"), Is.True);
        Assert.That(credentials.Contains("X-Other"), Is.False);
    }
}
