using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// A backend's answer that the policies must read and cannot is refused with 502 <c>backend_invalid_response</c>, never
/// passed on unread — through the real pipeline, with a redacting content policy and a tool allow-list in the chain.
/// </summary>
public class BackendAnswerValidationTests : FakeBackendAppTests
{
    private const string Secret = "sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    private static readonly string Answer =
        $$"""{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"key {{Secret}}"},"finish_reason":"stop"}]}""";

    private string _policyFile = null!;

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        _policyFile = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "name": "root", "policies": [
              { "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } },
              { "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        return new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = _policyFile,
            ["Luthien:Limits:MaxResponseBodyBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [OneTimeTearDown]
    public void DeletePolicyFile()
    {
        File.Delete(_policyFile);
    }

    [Test]
    public async Task NonStreaming_AnswerNestedDeeperThanLibraryReads_Gets502()
    {
        var deep = Answer[..^1] + ",\"x\":" + new string('[', 70) + new string(']', 70) + "}";
        Backend.Handler = c => FakeBackend.Json(c, 200, deep);

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_AnswerWithTrailingJunk_Gets502()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, Answer + "junk");

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_AnswerNotJson_Gets502()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, "key " + Secret);

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_AnswerWithRepeatedContent_Gets502()
    {
        var twice = Answer.Replace("\"content\":", "\"content\":\"ok\",\"content\":", StringComparison.Ordinal);
        Backend.Handler = c => FakeBackend.Json(c, 200, twice);

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_GzipAnswerWithSecret_IsDecodedAndRedacted()
    {
        var gzipped = Gzip(Encoding.UTF8.GetBytes(Answer));
        Backend.Handler = c => Raw(c, 200, "application/json", gzipped, "gzip");

        using var response = await PostAsync();
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(JsonNode.Parse(body)!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("key [REDACTED]"));
        Assert.That(response.Content.Headers.ContentEncoding, Is.Empty);
        Assert.That(response.Content.Headers.ContentLength, Is.EqualTo(Encoding.UTF8.GetByteCount(body)));
    }

    [Test]
    public async Task NonStreaming_UnknownContentEncoding_Gets502()
    {
        Backend.Handler = c => Raw(c, 200, "application/json", Encoding.UTF8.GetBytes(Answer), "zstd");

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_GzipBomb_Gets502()
    {
        // 64 MiB of spaces after the object squeezed into a few hundred KiB: over the 1 MiB limit once decoded.
        var bomb = Gzip([.. Encoding.UTF8.GetBytes(Answer), .. new byte[64 * 1024 * 1024].Select(_ => (byte)' ')]);
        Backend.Handler = c => Raw(c, 200, "application/json", bomb, "gzip");

        using var response = await PostAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain(Secret));
    }

    [Test]
    public async Task Stream_AnsweredWithHtml_Gets502()
    {
        Backend.Handler = c => Raw(c, 200, "text/html", Encoding.UTF8.GetBytes("<html>" + Secret + "</html>"));

        using var response = await PostAsync(stream: true);

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_AnsweredWithEventStream_Gets502()
    {
        var chunk = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"key """ + Secret + "\"},\"finish_reason\":null}]}";
        Backend.Handler = c => FakeBackend.Sse(c, $"data: {chunk}\n\n", "data: [DONE]\n\n");

        using var response = await PostAsync();

        await AssertInvalidResponseAsync(response);
    }

    [Test]
    public async Task NonStreaming_BackendErrorNotJson_PassesThroughUnchanged()
    {
        Backend.Handler = c => Raw(c, 503, "text/html", "<html>down</html>"u8.ToArray());

        using var response = await PostAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("<html>down</html>"));
    }

    [Test]
    public async Task Stream_EventNotJsonWithContentPolicy_EndsWithErrorAndNoSecret()
    {
        var good = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi "},"finish_reason":null}]}""";
        var broken = """{"id":"c1","choices":[{"index":0,"delta":{"content":"key """ + Secret + "\"}}]";
        Backend.Handler = c => FakeBackend.Sse(c, $"data: {good}\n\n", $"data: {broken}\n\n", "data: [DONE]\n\n");

        using var response = await PostAsync(stream: true);
        var (body, aborted) = await ResponseReading.ReadToEndOrAbortAsync(response);

        Assert.That(body, Does.Contain("\"code\":\"backend_invalid_response\""));
        Assert.That(body, Does.Not.Contain("[DONE]").And.Not.Contain(Secret));
        Assert.That(aborted, Is.True, "an answer that could not be read must not end like a complete one");
    }

    [Test]
    public async Task Stream_EventWithInvalidUtf8WithContentPolicy_EndsWithErrorAndNoSecret()
    {
        var good = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi "},"finish_reason":null}]}""";
        byte[] bad = [.. "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"key "u8, .. Encoding.UTF8.GetBytes(Secret), 0xFF, .. "\"}}]}\n\n"u8];
        Backend.Handler = async c =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.Body.WriteAsync(Encoding.UTF8.GetBytes($"data: {good}\n\n"));
            await c.Response.Body.WriteAsync(bad);
            await c.Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray());
        };

        using var response = await PostAsync(stream: true);
        var (body, aborted) = await ResponseReading.ReadToEndOrAbortAsync(response);

        Assert.That(body, Does.Contain("\"code\":\"backend_invalid_response\""));
        Assert.That(body, Does.Not.Contain("[DONE]").And.Not.Contain(Secret));
        Assert.That(aborted, Is.True, "an answer that could not be read must not end like a complete one");
    }

    private async Task<HttpResponseMessage> PostAsync(bool stream = false)
    {
        using var http = App.CreateClient();
        var body = $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        return await http.SendAsync(request, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead);
    }

    private static async Task AssertInvalidResponseAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), body);
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_invalid_response"));
        Assert.That(body, Does.Not.Contain(Secret));
    }

    private static async Task Raw(HttpContext context, int status, string contentType, byte[] body, string? contentEncoding = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        if (contentEncoding is not null)
        {
            context.Response.Headers.ContentEncoding = contentEncoding;
        }

        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    }

    private static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
