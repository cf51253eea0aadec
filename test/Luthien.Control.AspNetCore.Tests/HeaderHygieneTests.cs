using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// What headers cross the proxy: not those a <c>Connection</c> header names, not credentials (nor are they logged), not
/// a backend's cookies; a header that cannot be forwarded is the client's 400, not a 502. Raw requests on real Kestrel.
/// </summary>
public class HeaderHygieneTests
{
    private KestrelLuthienApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await KestrelLuthienApp.StartAsync(new() { ["Luthien:Headers:Credentials:0"] = "X-Tenant-Pass" });

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _app.Backend.Reset();

    [Test]
    public async Task Passthrough_HeaderNamedInClientConnection_IsNotForwarded()
    {
        // Only the name: Kestrel rewrites a Connection value holding close, keep-alive or upgrade to that token alone.
        await _app.SendAsync("GET /v1/models HTTP/1.1", null, "Connection: X-Hop", "X-Hop: private", "X-Kept: yes");

        var recorded = _app.Backend.Requests.Single();
        Assert.That(recorded.Headers.ContainsKey("X-Hop"), Is.False);
        Assert.That(recorded.Headers["X-Kept"], Is.EqualTo("yes"));
    }

    [Test]
    public async Task Passthrough_HeaderNamedInBackendConnection_IsNotForwardedToClient()
    {
        _app.Backend.Handler = context =>
        {
            context.Response.Headers.Connection = "X-Backend-Hop";
            context.Response.Headers["X-Backend-Hop"] = "private";
            context.Response.Headers["X-Backend-Kept"] = "yes";
            return FakeBackend.Json(context, 200, """{"object":"list","data":[]}""");
        };

        var response = await _app.SendAsync("GET /v1/models HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.HasHeader("X-Backend-Hop"), Is.False);
        Assert.That(response.Header("X-Backend-Kept"), Is.EqualTo("yes"));
    }

    [Test]
    public async Task Passthrough_GoogApiKey_IsNotForwarded()
    {
        await _app.SendAsync("GET /v1/models HTTP/1.1", null, "x-goog-api-key: goog-secret-123", "X-Auth-Token: auth-secret-456");

        var recorded = _app.Backend.Requests.Single();
        Assert.That(recorded.Headers.ContainsKey("x-goog-api-key"), Is.False);
        Assert.That(recorded.Headers.ContainsKey("X-Auth-Token"), Is.False);
    }

    [Test]
    public async Task Passthrough_ConfiguredCredentialHeader_IsNotForwarded()
    {
        await _app.SendAsync("GET /v1/models HTTP/1.1", null, "X-Tenant-Pass: tenant-secret-789");

        Assert.That(_app.Backend.Requests.Single().Headers.ContainsKey("X-Tenant-Pass"), Is.False);
    }

    [Test]
    public async Task Chat_CredentialHeaders_AreNotLogged()
    {
        const string body = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";

        await _app.SendAsync(
            "POST /v1/chat/completions HTTP/1.1", body, "x-goog-api-key: goog-secret-123", "X-Tenant-Pass: tenant-secret-789", "X-Session-Id: session-secret-000");

        Assert.That(_app.Logs.AllText, Does.Contain("x-goog-api-key"), "the request headers were not logged at all");
        Assert.That(_app.Logs.AllText, Does.Not.Contain("goog-secret-123").And.Not.Contain("tenant-secret-789").And.Not.Contain("session-secret-000"));
    }

    [Test]
    public async Task Passthrough_BackendSetCookie_IsNotForwardedToClient()
    {
        _app.Backend.Handler = context =>
        {
            context.Response.Headers.SetCookie = "backend-session=abc; Path=/";
            context.Response.Headers["Set-Cookie2"] = "old=1";
            return FakeBackend.Json(context, 200, """{"object":"list","data":[]}""");
        };

        var response = await _app.SendAsync("GET /v1/models HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.HasHeader("Set-Cookie"), Is.False);
        Assert.That(response.HasHeader("Set-Cookie2"), Is.False);
    }

    [Test]
    public async Task Chat_BackendSetCookie_IsNotForwardedToClient()
    {
        _app.Backend.Handler = context =>
        {
            context.Response.Headers.SetCookie = "backend-session=abc; Path=/";
            return FakeBackend.Json(context, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        };

        var response = await _app.SendAsync("POST /v1/chat/completions HTTP/1.1", """{"model":"m","messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(response.HasHeader("Set-Cookie"), Is.False);
    }

    [Test]
    public async Task Passthrough_NonAsciiHeaderValue_Gets400NamingHeaderAndNothingForwarded()
    {
        // "café" as UTF-8 bytes on the wire (RawHttp sends each char as one byte).
        var response = await _app.SendAsync("GET /v1/models HTTP/1.1", null, "X-Name: caf\u00C3\u00A9");

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(response.ErrorMessage, Does.Contain("X-Name").And.Not.Contain("caf"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Chat_NonAsciiHeaderValue_Gets400NamingHeaderAndNothingForwarded()
    {
        var response = await _app.SendAsync(
            "POST /v1/chat/completions HTTP/1.1", """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "X-Name: caf\u00C3\u00A9");

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(response.ErrorMessage, Does.Contain("X-Name"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }
}
