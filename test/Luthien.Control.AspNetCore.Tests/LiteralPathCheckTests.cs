namespace Luthien.Control.AspNetCore.Tests;

public class LiteralPathCheckTests
{
    [TestCase("/v1/chat/completions")]
    [TestCase("/v1/chat/completions/")]
    [TestCase("/v1/models/ft:gpt-4o-mini:org:custom:abc")]
    [TestCase("/v1/models/gpt-3.5-turbo")]
    [TestCase("/v1/models/caf%C3%A9")]
    [TestCase("/")]
    public void CheckRaw_CanonicalPath_Passes(string path)
    {
        Assert.That(LiteralPath.CheckRaw(path), Is.Null);
    }

    [TestCase("/v1//chat/completions")]
    [TestCase("/v1/chat/completions//")]
    [TestCase("/v1/./models")]
    [TestCase("/v1/models/..")]
    [TestCase("/v1/%2e%2e/admin")]
    [TestCase("/v1/%2E/admin")]
    [TestCase("/v1/a%2Fb")]
    [TestCase("/v1/a%5cb")]
    [TestCase("/v1/a\\b")]
    [TestCase("/v1/a%3Fb")]
    [TestCase("/v1/a%23b")]
    [TestCase("/v1/a%25b")]
    [TestCase("/v1/a%2")]
    [TestCase("/v1/a%zz")]
    [TestCase("/v1/a%20")]
    [TestCase("/v1/a%09")]
    [TestCase("/v1/a%00")]
    [TestCase("/v1/a%1F")]
    [TestCase("/v1/a%7f")]
    [TestCase("/v1/a b")]
    [TestCase("/v1/a#b")]
    [TestCase("/v1/chat/completions.")]
    [TestCase("/v1/models/%C0%AE%C0%AE/chat")]
    [TestCase("/v1/models/%E0%80%AE")]
    [TestCase("/v1/models/caf%C3")]
    [TestCase("/v1/models/gpt-4o./x")]
    public void CheckRaw_NonCanonicalPath_Refuses(string path)
    {
        Assert.That(LiteralPath.CheckRaw(path), Is.Not.Null);
    }

    [TestCase("/v1/models/caf\u00a0")]
    [TestCase("/v1/models/a\u2028b")]
    [TestCase("/v1/models/a\u0085")]
    [TestCase("/v1/models\\x")]
    public void CheckDecoded_WhitespaceOrBackslash_Refuses(string path)
    {
        Assert.That(LiteralPath.CheckDecoded(path), Is.Not.Null);
    }

    [TestCase("/v1/models?x=/../", "/v1/models")]
    [TestCase("http://h:1/v1/models?x", "/v1/models")]
    [TestCase("http://h:1", "/")]
    [TestCase("http://h:1?x", "/")]
    public void PathOf_Target_ReturnsPathPart(string target, string expected)
    {
        Assert.That(LiteralPath.PathOf(target).ToString(), Is.EqualTo(expected));
    }
}
