using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// Pass-through only for what <c>Luthien:Passthrough:Allow</c> lists (default: models, embeddings, moderations); a policed
/// path is never passed through. Raw requests on real Kestrel.
/// </summary>
public class PassthroughAllowTests
{
    private KestrelLuthienApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await KestrelLuthienApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _app.Backend.Reset();

    [Test]
    public async Task Passthrough_GetOnChatCompletions_Gets404AndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/chat/completions HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(response.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Passthrough_GetResponses_Gets404ServedOnlyAsPostAndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/responses HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(response.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(response.ErrorMessage, Does.Contain("Only POST responses"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Passthrough_PathNotAllowed_Gets404NamingTheSettingAndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/files HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(response.Header("Content-Type"), Does.StartWith("application/json"));
        Assert.That(response.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(response.ErrorMessage, Does.Contain("Luthien:Passthrough:Allow"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Passthrough_AllowedMethodOnOtherMethod_Gets404AndNothingForwarded()
    {
        var response = await _app.SendAsync("DELETE /v1/models/gpt-4o HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(404));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Passthrough_AllowedPath_IsForwardedWithQuery()
    {
        var response = await _app.SendAsync("GET /v1/models/gpt-4o?x=1 HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(_app.Backend.Requests.Single().PathAndQuery, Is.EqualTo("/v1/models/gpt-4o?x=1"));
    }

    [Test]
    public async Task Passthrough_AllowedPathUpperCaseWithTrailingSlash_IsForwarded()
    {
        var response = await _app.SendAsync("GET /v1/MODELS/ HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(_app.Backend.Requests, Has.Count.EqualTo(1));
    }
}

/// <summary><c>Luthien:Passthrough:Allow</c> is <c>"*"</c>: every path is forwarded, except the policed ones.</summary>
public class PassthroughAllowAllTests
{
    private KestrelLuthienApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await KestrelLuthienApp.StartAsync(new() { ["Luthien:Passthrough:Allow:0"] = "*" });

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _app.Backend.Reset();

    [TestCase("GET /v1/chat/completions HTTP/1.1")]
    [TestCase("PUT /v1/Chat/Completions/ HTTP/1.1")]
    [TestCase("GET /v1/completions HTTP/1.1")]
    [TestCase("DELETE /v1/Responses/ HTTP/1.1")]
    [TestCase("POST /v1/openai/deployments/d/chat/completions HTTP/1.1")]
    [TestCase("GET /v1/responses/abc HTTP/1.1")]
    [TestCase("GET /v1/responses/abc/input_items HTTP/1.1")]
    [TestCase("DELETE /v1/responses/abc HTTP/1.1")]
    [TestCase("GET /v1/chat/completions/abc/messages HTTP/1.1")]
    [TestCase("POST /v1/responses/abc/cancel HTTP/1.1")]
    [TestCase("POST /v1/chat/completions;x=1 HTTP/1.1")]
    public async Task Passthrough_AllowAllOnPolicedPath_Gets404AndNothingForwarded(string requestLine)
    {
        var response = await _app.SendAsync(requestLine, """{"model":"m","messages":[{"role":"user","content":"hi"}],"prompt":"hi","input":"hi"}""");

        Assert.That(response.Status, Is.EqualTo(404), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Passthrough_AllowAllOnOtherPath_IsForwarded()
    {
        var response = await _app.SendAsync("GET /v1/files/f-1/content HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(200));
        Assert.That(_app.Backend.Requests.Single().PathAndQuery, Is.EqualTo("/v1/files/f-1/content"));
    }

    [Test]
    public async Task Passthrough_AllowAllStillRefusesDotSegments_Gets400AndNothingForwarded()
    {
        var response = await _app.SendAsync("GET /v1/files/x/%2E%2E/internal HTTP/1.1");

        Assert.That(response.Status, Is.EqualTo(400));
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [Test]
    public void Start_AllowAll_LogsAWarning()
    {
        Assert.That(_app.Logs.Messages, Has.Some.StartsWith("Warning").And.Contains("Luthien:Passthrough:Allow"));
    }
}
