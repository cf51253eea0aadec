using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// One content type per kind of answer, as the contract spells it — <c>application/json</c> for buffered answers and
/// every error, <c>text/event-stream</c> for streams — whatever the backend called its own; and a policed answer that
/// says it is in a charset other than UTF-8 is refused rather than misread, through either backend client.
/// </summary>
[TestFixture(BackendClientKind.Http)]
[TestFixture(BackendClientKind.Sdk)]
public class ContentTypeTests(BackendClientKind client) : FakeBackendAppTests
{
    private const string Answer = """{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""";
    private const string Chunk = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}""";

    private protected override Dictionary<string, string?> Settings(FakeBackend backend) => new()
    {
        ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
        ["Luthien:Backend:ApiKey"] = "backend-key",
        ["Luthien:Backend:Client"] = client.ToString(),
    };

    [TestCase("application/json")]
    [TestCase("application/json; charset=utf-8")]
    [TestCase("application/json; charset=\"UTF-8\"")]
    [TestCase("text/plain")]
    public async Task Buffered_BackendUtf8OrNoCharset_ApplicationJson(string backendType)
    {
        Backend.Handler = c => Raw(c, 200, backendType, Encoding.UTF8.GetBytes(Answer));

        using var response = await PostAsync(stream: false);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(Answer));
    }

    [Test]
    public async Task Buffered_BackendUtf16_502InvalidResponse()
    {
        Backend.Handler = c => Raw(c, 200, "application/json; charset=utf-16", Encoding.Unicode.GetBytes(Answer));

        using var response = await PostAsync(stream: false);

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task Buffered_BackendLatin1WithUtf8Bytes_502RatherThanMisread()
    {
        // "Ã©" in ISO-8859-1 is the same two bytes as "é" in UTF-8: read as UTF-8, policies would judge other text.
        Backend.Handler = c => Raw(c, 200, "application/json; charset=iso-8859-1", Encoding.UTF8.GetBytes(Answer.Replace("hi", "caf\u00e9", StringComparison.Ordinal)));

        using var response = await PostAsync(stream: false);

        await AssertInvalidResponseAsync(response);
    }

    [TestCase("text/event-stream")]
    [TestCase("text/event-stream; charset=utf-8")]
    public async Task Stream_BackendUtf8OrNoCharset_TextEventStream(string backendType)
    {
        Backend.Handler = c => Raw(c, 200, backendType, Encoding.UTF8.GetBytes($"data: {Chunk}\n\ndata: [DONE]\n\n"));

        using var response = await PostAsync(stream: true);
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/event-stream"));
        Assert.That(response.Headers.CacheControl?.NoCache, Is.True);
        Assert.That(body, Is.EqualTo($"data: {Chunk}\n\ndata: [DONE]\n\n"));
    }

    [TestCase("text/event-stream; charset=utf-16")]
    [TestCase("text/event-stream; charset=windows-1252")]
    public async Task Stream_BackendOtherCharset_502InvalidResponse(string backendType)
    {
        var encoding = backendType.EndsWith("utf-16", StringComparison.Ordinal) ? Encoding.Unicode : Encoding.UTF8;
        Backend.Handler = c => Raw(c, 200, backendType, encoding.GetBytes($"data: {Chunk}\n\ndata: [DONE]\n\n"));

        using var response = await PostAsync(stream: true);

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task Error_BeforeAnything_ApplicationJson()
    {
        using var http = App.CreateClient();

        using var response = await http.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), new StringContent("not json", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
    }

    [Test]
    public async Task Error_StreamRequestBackendUnreachableBeforeFirstChunk_ApplicationJson()
    {
        Backend.Handler = c =>
        {
            c.Abort();
            return Task.CompletedTask;
        };

        using var response = await PostAsync(stream: true);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
    }

    [Test]
    public async Task BackendError_PassedWithItsOwnContentType()
    {
        Backend.Handler = c => Raw(c, 429, "application/json; charset=utf-8", """{"error":{"message":"slow down","code":"rate_limit_exceeded"}}"""u8.ToArray());

        using var response = await PostAsync(stream: false);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
    }

    [Test]
    public async Task Passthrough_BackendsContentTypeForwardedUnchanged()
    {
        Backend.Handler = c => Raw(c, 200, "application/json; charset=utf-8", """{"object":"list","data":[]}"""u8.ToArray());
        using var http = App.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", "client-key");

        using var response = await http.GetAsync(new Uri("/v1/models", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
    }

    private async Task<HttpResponseMessage> PostAsync(bool stream)
    {
        using var http = App.CreateClient();
        var body = $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        return await http.SendAsync(request);
    }

    private static async Task AssertInvalidResponseAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), body);
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_invalid_response"));
    }

    private static async Task Raw(HttpContext context, int status, string contentType, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.Headers.ContentType = contentType;
        await context.Response.Body.WriteAsync(body);
    }
}
