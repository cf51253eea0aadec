using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// Paths are taken literally (CONTRACT.md, Routes): on real Kestrel, a raw request line whose path a server could read
/// differently from the route that matched it gets 400 <c>invalid_request</c>, and the backend receives nothing.
/// </summary>
public class LiteralPathTests
{
    private const string ChatBody = """{"model":"m","messages":[{"role":"user","content":"hi"}]}""";

    private KestrelLuthienApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await KestrelLuthienApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _app.Backend.Reset();

    [Test]
    public async Task Chat_EmptySegmentBeforeChat_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("POST /v1//chat/completions HTTP/1.1", ChatBody);

        AssertRefused(response);
    }

    [Test]
    public async Task Chat_EncodedSpaceAfterPath_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("POST /v1/chat/completions%20 HTTP/1.1", ChatBody);

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_EncodedBackslashDotDot_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/..%5C..%5Cinternal/admin HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_EncodedDotDotSegment_Gets400AndNothingForwarded()
    {
        // Kestrel decodes and removes the segment itself (this reaches the catch-all as "files"): refused all the same.
        var response = await _app.SendAsync("GET /v1/models/%2e%2e/files HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_EncodedSlash_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("POST /v1/chat%2Fcompletions HTTP/1.1", ChatBody);

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_DoubleEncodedDotDot_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/models/%252e%252e%252finternal HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_RawBackslash_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync(@"GET /v1/models\..\..\internal/admin HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_EncodedTab_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/models/gpt%09 HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Passthrough_DotSegmentInAbsoluteFormTarget_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync($"GET http://{_app.Address.Authority}/v1/models/%2e/x HTTP/1.1");

        AssertRefused(response);
    }

    [Test]
    public async Task Chat_TrailingSlash_IsPoliced()
    {
        var response = await _app.SendAsync("POST /v1/chat/completions/ HTTP/1.1", LeakedKeyBody);

        Assert.That(response.Status, Is.EqualTo(403));
        Assert.That(response.ErrorCode, Is.EqualTo("content_policy_violation"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Chat_UpperCase_IsPoliced()
    {
        var response = await _app.SendAsync("POST /V1/CHAT/COMPLETIONS HTTP/1.1", LeakedKeyBody);

        Assert.That(response.Status, Is.EqualTo(403));
        Assert.That(response.ErrorCode, Is.EqualTo("content_policy_violation"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Chat_CanonicalPath_IsForwarded()
    {
        var response = await _app.SendAsync("POST /v1/chat/completions HTTP/1.1", ChatBody);

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(_app.Backend.Requests.Single().PathAndQuery, Is.EqualTo("/v1/chat/completions"));
    }

    private const string LeakedKeyBody = """{"model":"m","messages":[{"role":"user","content":"my key is sk-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuv"}]}""";

    private void AssertRefused(RawResponse response)
    {
        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(response.Json!["error"]!["type"]!.GetValue<string>(), Is.EqualTo("invalid_request_error"));
        Assert.That(_app.Backend.Requests, Is.Empty, "the backend received the request");
    }
}
