using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// Answers a hostile backend can send so that an OpenAI client shows what the policies were to remove: each must end in
/// an error, never with the secret or the blocked call in the client's bytes.
/// </summary>
public class PolicyBypassTests : FakeBackendAppTests
{
    private const string Secret = "SECRET-123456";
    private const string H = "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",";

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        var policy = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ResponseContentPolicy", "config": { "patterns": ["SECRET-[0-9]{6}"], "action": "redact" } },
              { "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);
        return new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = policy,
        };
    }

    [Test]
    public async Task Stream_EscapedSecondChoicesWithSecret_EndsWithErrorAndNoSecret()
    {
        var text = await StreamAsync($"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}}}}],\"choic\\u0065s\":[{{\"index\":0,\"delta\":{{\"content\":\"{Secret}\"}}}}]}}\n\n");

        AssertRefused(text, Secret);
    }

    [Test]
    public async Task Stream_EscapedSecondChoicesWithBlockedCall_EndsWithErrorAndNoCall()
    {
        var text = await StreamAsync(
            $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hi\"}}}}],\"choic\\u0065s\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{{\"name\":\"delete_all\",\"arguments\":\"{{}}\"}}}}]}}}}]}}\n\n");

        AssertRefused(text, "delete_all");
    }

    [Test]
    public async Task Stream_ChunkInAnEventOfTypeError_IsPolicedNotPassedAsAnError()
    {
        var text = await StreamAsync($"event: error\ndata: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{Secret}\"}}}}]}}\n\n", Finish());

        Assert.That(text, Does.Not.Contain(Secret));
        Assert.That(text, Does.Contain("[REDACTED]"));
    }

    [Test]
    public async Task Stream_ToolCallRenamedAfterItWasAllowed_EndsWithErrorAndNoNewName()
    {
        var text = await StreamAsync(
            Call("{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}"),
            Call("{\"index\":0,\"function\":{\"arguments\":\"{}\"}}"),
            Call("{\"index\":0,\"function\":{\"name\":\"delete_all\"}}"),
            Finish("tool_calls"));

        AssertRefused(text, "delete_all");
    }

    [Test]
    public async Task Stream_ToolCallIndexThatIsNotAnInteger_EndsWithErrorAndNoCall()
    {
        var text = await StreamAsync(
            Call("{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}"),
            Call("{\"index\":0,\"function\":{\"arguments\":\"{}\"}}"),
            Call("{\"index\":1.0,\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":\"delete_all\",\"arguments\":\"{}\"}}"),
            Finish("tool_calls"));

        AssertRefused(text, "delete_all");
    }

    [Test]
    public async Task Stream_SameChoiceTwiceInOneChunk_EndsWithErrorAndNoSecret()
    {
        var text = await StreamAsync($"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"hello \"}}}},{{\"index\":0,\"delta\":{{\"content\":\"{Secret}\"}}}}]}}\n\n", Finish());

        AssertRefused(text, Secret);
    }

    [Test]
    public async Task Stream_TextAfterFinishCompletesASecret_EndsWithErrorAndNoSecretTail()
    {
        var text = await StreamAsync(Content("SECRET-12"), Finish(), Content("3456"));

        Assert.That(text, Does.Not.Contain("3456"));
        Assert.That(text, Does.Contain("\"code\":\"backend_invalid_response\""));
    }

    [TestCase("\"SECRET-123456\"")]
    [TestCase("[{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"SECRET-123456\"}}]}]")]
    public async Task Stream_EventThatIsNotAnObject_EndsWithErrorAndNoSecret(string data)
    {
        var text = await StreamAsync($"data: {data}\n\n", Finish());

        AssertRefused(text, Secret);
    }

    [Test]
    public async Task Stream_ContentPartsArrayBeforeASecondChoice_SecondChoicesSecretNeverShown()
    {
        var text = await StreamAsync(
            $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":[{{\"type\":\"text\",\"text\":\"\"}}]}}}},{{\"index\":1,\"delta\":{{\"content\":\"{Secret}\"}}}}]}}\n\n",
            Finish());

        Assert.That(text, Does.Not.Contain(Secret));
    }

    [Test]
    public async Task Stream_ContentPartsArrayBesideABlockedCall_CallNeverShown()
    {
        var text = await StreamAsync(
            $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":[{{\"type\":\"text\",\"text\":\"\"}}],\"tool_calls\":[{{\"index\":0,\"id\":\"t\",\"type\":\"function\",\"function\":{{\"name\":\"delete_all\",\"arguments\":\"{{}}\"}}}}]}}}}]}}\n\n",
            Finish("tool_calls"));

        Assert.That(text, Does.Not.Contain("delete_all"));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Chat_BackendRedirects_Gets502AndNoLocation(bool stream)
    {
        Backend.Handler = c =>
        {
            c.Response.Headers.Location = "http://127.0.0.1:9/evil";
            return FakeBackend.Json(c, 307, "{}");
        };
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", Body(stream));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(response.Headers.Location, Is.Null);
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task Passthrough_BackendRedirects_Gets502()
    {
        Backend.Handler = c =>
        {
            c.Response.StatusCode = 302;
            c.Response.Headers.Location = "http://127.0.0.1:9/evil";
            return Task.CompletedTask;
        };
        using var http = App.CreateClient();

        using var response = await http.GetAsync("/v1/models");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(response.Headers.Location, Is.Null);
    }

    [TestCase("""{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":["x"]},"finish_reason":"tool_calls"}]}""")]
    [TestCase("""{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"t","type":"function","function":{"name":5}}]},"finish_reason":"tool_calls"}]}""")]
    public async Task Chat_ToolCallOfAnUnreadableShape_Gets502NotA500(string answer)
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, answer);
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", Body(stream: false));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task Chat_AnswerLabelledAsHtml_GoesOutAsJson()
    {
        Backend.Handler = async c =>
        {
            c.Response.ContentType = "text/html";
            await c.Response.WriteAsync("""{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"<script>alert(1)</script>"},"finish_reason":"stop"}]}""");
        };
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", Body(stream: false));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
    }

    [TestCase("X-Original-URL", "/internal/admin")]
    [TestCase("X-HTTP-Method-Override", "DELETE")]
    [TestCase("X-Forwarded-For", "10.0.0.1")]
    public async Task Chat_RequestOverrideHeader_IsNotForwarded(string name, string value)
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""");
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(stream: false) };
        request.Headers.TryAddWithoutValidation(name, value);

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Backend.Requests.Single().Headers.ContainsKey(name), Is.False);
    }

    private static string Content(string text) => $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n";

    private static string Call(string call) => $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{call}]}},\"finish_reason\":null}}]}}\n\n";

    private static string Finish(string reason = "stop") => $"data: {{{H}\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"{reason}\"}}]}}\n\n";

    private static StringContent Body(bool stream) =>
        new($$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json");

    private async Task<string> StreamAsync(params string[] events)
    {
        Backend.Handler = c => FakeBackend.Sse(c, [.. events, "data: [DONE]\n\n"]);
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(stream: true) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var (text, _) = await ResponseReading.ReadToEndOrAbortAsync(response);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            // Refused before the first byte: a proper HTTP error is as good as an error event.
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway), text);
        }

        return text;
    }

    private static void AssertRefused(string text, string mustNotAppear)
    {
        Assert.That(text, Does.Not.Contain(mustNotAppear));
        Assert.That(text, Does.Contain("\"code\":\"backend_invalid_response\""));
        Assert.That(text, Does.Not.Contain("[DONE]"));
    }
}
