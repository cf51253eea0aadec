using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// The sample app in the real ASP.NET pipeline, in front of a fake backend on loopback, driven by the official
/// OpenAI .NET client (and raw HTTP where the test needs the bytes).
/// </summary>
public class LuthienRequestHandlerTests : FakeBackendAppTests
{
    private const string CompletionJson = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","refusal":null},"logprobs":null,"finish_reason":"stop",
                     "content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],
         "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7},
         "prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}],"x_vendor_field":{"kept":true}}
        """;

    private string _policyFile = null!;

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        _policyFile = PolicyFiles.Write(PolicyFiles.RequestSideChain);
        return new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:PolicyFile"] = _policyFile,
            ["Luthien:Limits:MaxRequestBodyBytes"] = "4096",
        };
    }

    [OneTimeTearDown]
    public void DeletePolicyFile()
    {
        File.Delete(_policyFile);
    }

    [Test]
    public async Task ChatCompletion_OpenAiClient_GetsBackendAnswerWithVendorFieldsKept()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, CompletionJson);

        var result = await App.CreateChatClient().CompleteChatAsync([new UserChatMessage("Capital of France?")]);

        Assert.That(result.Value.Content[0].Text, Is.EqualTo("Paris."));
        var raw = JsonNode.Parse(result.GetRawResponse().Content.ToString())!;
        Assert.That(raw["x_vendor_field"]!["kept"]!.GetValue<bool>(), Is.True);
        Assert.That(raw["prompt_filter_results"], Is.Not.Null);
        Assert.That(raw["choices"]![0]!["content_filter_results"], Is.Not.Null);
        Assert.That(result.GetRawResponse().Headers.TryGetValue("x-luthien-transaction-id", out var id) && id!.StartsWith("ltx-", StringComparison.Ordinal), Is.True);
    }

    [Test]
    public async Task ChatCompletion_UnknownRequestFields_ReachBackendUnchanged()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, CompletionJson);
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hé"}],"vendor_option":{"deep":[1,2.50,"x"]},"seed":7}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var sent = JsonNode.Parse(Backend.Requests.Single().Body)!;
        Assert.That(JsonNode.DeepEquals(sent["vendor_option"], JsonNode.Parse("""{"deep":[1,2.50,"x"]}""")), Is.True);
        Assert.That(sent["seed"]!.GetValue<int>(), Is.EqualTo(7));
        Assert.That(Backend.Requests.Single().Body, Does.Contain("hé"));
    }

    [Test]
    public async Task ChatCompletion_ClientKey_IsReplacedByBackendKey()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, CompletionJson);

        await App.CreateChatClient().CompleteChatAsync([new UserChatMessage("hi")]);

        var headers = Backend.Requests.Single().Headers;
        Assert.That(headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(headers.Values, Has.None.Contains("client-key-1"));
    }

    [Test]
    public void ChatCompletion_WrongClientKey_Gets401AndBackendIsNotCalled()
    {
        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await App.CreateChatClient(apiKey: "wrong-key").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.That(ex!.Status, Is.EqualTo(401));
        var error = JsonNode.Parse(ex.GetRawResponse()!.Content.ToString())!["error"]!;
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("invalid_api_key"));
        Assert.That(ex.GetRawResponse()!.Content.ToString(), Does.Not.Contain("wrong-key"));
        Assert.That(Backend.Requests, Is.Empty);
    }

    [Test]
    public void ChatCompletion_LeakedKeyInMessage_Gets403AndBackendIsNotCalled()
    {
        var secret = "sk-" + new string('Z', 48);

        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await App.CreateChatClient().CompleteChatAsync([new UserChatMessage($"please use {secret}")]));

        Assert.That(ex!.Status, Is.EqualTo(403));
        var body = ex.GetRawResponse()!.Content.ToString();
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("content_policy_violation"));
        Assert.That(body, Does.Not.Contain(secret));
        Assert.That(Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task ChatCompletion_MappedModel_BackendSeesReplacement()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, CompletionJson);

        await App.CreateChatClient(model: "fast").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.That(JsonNode.Parse(Backend.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task ChatCompletion_BodyOverLimit_Gets413()
    {
        using var http = App.CreateClient();
        var big = new string('a', 5000);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"m","messages":[{"role":"user","content":"{{big}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        await AssertErrorAsync(response, "request_too_large");
        Assert.That(Backend.Requests, Is.Empty);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Passthrough_BodyOverLimit_Gets413(bool declareLength)
    {
        using var http = App.CreateClient();
        var payload = Encoding.UTF8.GetBytes($$"""{"input":"{{new string('a', 5000)}}","model":"e"}""");
        HttpContent content = declareLength
            ? new ByteArrayContent(payload)
            : new StreamContent(new MemoryStream(payload)); // no Content-Length: sent chunked, counted while forwarded
        if (!declareLength)
        {
            content.Headers.ContentLength = null;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/embeddings") { Content = content };
        request.Headers.Add("Authorization", "Bearer client-key-1");
        request.Headers.TransferEncodingChunked = !declareLength;

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        await AssertErrorAsync(response, "request_too_large");
    }

    [TestCase("not json")]
    [TestCase("[]")]
    [TestCase("""{"model":"m"}""")]
    [TestCase("""{"model":"m","messages":[]}""")]
    public async Task ChatCompletion_BadBody_Gets400(string body)
    {
        using var http = App.CreateClient();
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        await AssertErrorAsync(response, "invalid_request");
    }

    [Test]
    public async Task ChatCompletion_Backend429_StatusBodyAndHeadersPassThrough()
    {
        const string errorBody = """{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
        Backend.Handler = c =>
        {
            c.Response.Headers["retry-after"] = "7";
            c.Response.Headers["x-request-id"] = "req-123";
            c.Response.Headers["x-ratelimit-remaining-requests"] = "0";
            c.Response.Headers["x-ratelimit-reset-tokens"] = "1s";
            return FakeBackend.Json(c, 429, errorBody);
        };
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(429));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(errorBody));
        Assert.That(response.Headers.GetValues("retry-after").Single(), Is.EqualTo("7"));
        Assert.That(response.Headers.GetValues("x-request-id").Single(), Is.EqualTo("req-123"));
        Assert.That(response.Headers.GetValues("x-ratelimit-remaining-requests").Single(), Is.EqualTo("0"));
        Assert.That(response.Headers.GetValues("x-ratelimit-reset-tokens").Single(), Is.EqualTo("1s"));
    }

    [Test]
    public async Task Models_Get_IsForwardedWithQueryAndAnswerUnchanged()
    {
        const string models = """{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1,"owned_by":"x","vendor":true}]}""";
        Backend.Handler = c => FakeBackend.Json(c, 200, models);
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models?limit=3");
        request.Headers.Add("Authorization", "Bearer client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(models));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/v1/models?limit=3"));
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(response.Headers.Contains("x-luthien-transaction-id"), Is.True);
    }

    [Test]
    public async Task Embeddings_OpenAiClient_BodyForwardedUnchanged()
    {
        // The SDK asks for base64-encoded floats.
        var vector = Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new[] { 0.5f, -0.25f }.AsSpan()));
        var answer = $$$"""{"object":"list","data":[{"object":"embedding","index":0,"embedding":"{{{vector}}}"}],"model":"text-embedding-3-small","usage":{"prompt_tokens":1,"total_tokens":1}}""";
        Backend.Handler = c => FakeBackend.Json(c, 200, answer);
        var client = new OpenAI.OpenAIClient(new ApiKeyCredential("client-key-1"), App.CreateClientOptions()).GetEmbeddingClient("text-embedding-3-small");

        var result = await client.GenerateEmbeddingAsync("hello");

        Assert.That(result.Value.ToFloats().ToArray(), Is.EqualTo(new[] { 0.5f, -0.25f }));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/v1/embeddings"));
        Assert.That(JsonNode.Parse(recorded.Body)!["input"]!.GetValue<string>(), Is.EqualTo("hello"));
        Assert.That(JsonNode.Parse(recorded.Body)!["encoding_format"]!.GetValue<string>(), Is.EqualTo("base64"));
    }

    [Test]
    public void Passthrough_WithoutClientKey_Gets401()
    {
        var client = new OpenAI.OpenAIClient(new ApiKeyCredential("nope"), App.CreateClientOptions()).GetOpenAIModelClient();

        var ex = Assert.ThrowsAsync<ClientResultException>(async () => await client.GetModelsAsync());

        Assert.That(ex!.Status, Is.EqualTo(401));
        Assert.That(Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Streaming_OpenAiClient_ReceivesEveryChunkAndDoneOnce()
    {
        Backend.Handler = c => FakeBackend.Sse(
            c,
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n");

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        await foreach (var update in App.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
        }

        Assert.That(text.ToString(), Is.EqualTo("Hello"));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.Stop));
    }

    [Test]
    public async Task Streaming_FramingVariants_ComeOutCanonicalWithChunkBytesKept()
    {
        const string chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"é\"},\"finish_reason\":null}],\"prompt_filter_results\":[]}";
        var bytes = Encoding.UTF8.GetBytes("\uFEFF: comment\r\ndata:" + chunk + "\r\n\r\ndata: {\"id\":\"c1\",\r\ndata: \"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n");
        Backend.Handler = async c =>
        {
            c.Response.ContentType = "text/event-stream";
            foreach (var b in bytes)
            {
                await c.Response.Body.WriteAsync(new[] { b });
                await c.Response.Body.FlushAsync();
            }
        };

        var body = await PostStreamAsync();

        Assert.That(body, Is.EqualTo($"data: {chunk}\n\ndata: {{\"id\":\"c1\",\"choices\":[]}}\n\ndata: [DONE]\n\n"));
    }

    [Test]
    public async Task Streaming_UpstreamErrorEvent_ForwardedWithoutDone()
    {
        const string chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}";
        const string error = "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"param\":null,\"code\":null}}";
        Backend.Handler = c => FakeBackend.Sse(c, $"data: {chunk}\n\n", $"data: {error}\n\n", "data: [DONE]\n\n");

        var body = await PostStreamAsync();

        Assert.That(body, Is.EqualTo($"data: {chunk}\n\ndata: {error}\n\n"));
    }

    [Test]
    public async Task Streaming_ResponseHeaders_AreEventStreamWithoutCaching()
    {
        Backend.Handler = c => FakeBackend.Sse(c, "data: {\"id\":\"c\",\"choices\":[]}\n\n", "data: [DONE]\n\n");
        using var http = App.CreateClient();

        using var response = await http.SendAsync(StreamRequest(), HttpCompletionOption.ResponseHeadersRead);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(response.Headers.CacheControl!.NoCache, Is.True);
        Assert.That(response.Headers.Contains("x-luthien-transaction-id"), Is.True);
    }

    [Test]
    public async Task Streaming_UpstreamEndsWithoutDone_NoDoneIsSent()
    {
        const string chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[]}";
        Backend.Handler = c => FakeBackend.Sse(c, $"data: {chunk}\n\n");

        string body;
        try
        {
            body = await PostStreamAsync();
        }
        catch (HttpRequestException)
        {
            // The response was aborted: just as good, the client cannot take it for a complete answer.
            body = string.Empty;
        }
        catch (IOException)
        {
            body = string.Empty;
        }

        Assert.That(body, Does.Not.Contain("[DONE]"));
    }

    [Test]
    public async Task ChatCompletion_BackendUnreachable_Gets502()
    {
        await using var app = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:1/v1",
        });
        using var http = app.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        await AssertErrorAsync(response, "backend_unavailable");
    }

    private static HttpRequestMessage StreamRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-key-1");
        return request;
    }

    private async Task<string> PostStreamAsync()
    {
        using var http = App.CreateClient();
        using var response = await http.SendAsync(StreamRequest());
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, string code)
    {
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.AsObject();
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo(code));
        Assert.That(error["message"]!.GetValue<string>(), Is.Not.Empty);
        Assert.That(error["type"]!.GetValue<string>(), Is.Not.Empty);
        Assert.That(error.ContainsKey("param"), Is.True);
    }
}
