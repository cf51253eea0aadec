using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// Every policed API (chat, Responses, legacy completions) by every route that reaches it — OpenAI's and Azure's, in
/// every spelling routing accepts — runs the policies, and reaches an OpenAI-style backend in its own style. Raw
/// requests on real Kestrel, with the contract's request-side chain (client key, leaked-key detection).
/// </summary>
public class PolicedRoutesTests
{
    private const string Secret = "sk-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV";

    private KestrelLuthienApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await KestrelLuthienApp.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _app.Backend.Reset();

    private static IEnumerable<TestCaseData> Spellings()
    {
        // (request target, API, model the backend should get when the body names none)
        yield return new TestCaseData("/v1/chat/completions", RequestKind.ChatCompletion, null);
        yield return new TestCaseData("/V1/Chat/Completions/", RequestKind.ChatCompletion, null);
        yield return new TestCaseData("/v1/responses", RequestKind.Responses, null);
        yield return new TestCaseData("/v1/RESPONSES/", RequestKind.Responses, null);
        yield return new TestCaseData("/v1/completions", RequestKind.Completion, null);
        yield return new TestCaseData("/v1/Completions/", RequestKind.Completion, null);
        yield return new TestCaseData("/openai/deployments/dep-1/chat/completions?api-version=2024-10-21", RequestKind.ChatCompletion, "dep-1");
        yield return new TestCaseData("/OpenAI/Deployments/dep-1/Chat/Completions/?api-version=2024-10-21", RequestKind.ChatCompletion, "dep-1");
        yield return new TestCaseData("/openai/deployments/dep-1/completions?api-version=2024-10-21", RequestKind.Completion, "dep-1");
        yield return new TestCaseData("/openai/deployments/dep-1/responses?api-version=2025-04-01-preview", RequestKind.Responses, "dep-1");
        yield return new TestCaseData("/openai/v1/chat/completions", RequestKind.ChatCompletion, null);
        yield return new TestCaseData("/openai/v1/completions", RequestKind.Completion, null);
        yield return new TestCaseData("/openai/v1/responses", RequestKind.Responses, null);
        yield return new TestCaseData("/OPENAI/V1/RESPONSES/", RequestKind.Responses, null);
        yield return new TestCaseData("/openai/responses?api-version=2025-04-01-preview", RequestKind.Responses, null);
    }

    [TestCaseSource(nameof(Spellings))]
    public async Task Post_SecretInRequestText_EverySpellingRefusedBeforeBackend(string target, RequestKind kind, string? deployment)
    {
        var response = await _app.SendAsync($"POST {target} HTTP/1.1", Body(kind, $"my key is {Secret}", model: "m"));

        Assert.That(response.Status, Is.EqualTo(403), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("content_policy_violation"));
        Assert.That(response.Body, Does.Not.Contain(Secret));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [TestCaseSource(nameof(Spellings))]
    public async Task Post_EverySpelling_BackendCalledInOpenAiStyleWithoutClientCredentialOrApiVersion(string target, RequestKind kind, string? deployment)
    {
        var response = await _app.SendAsync($"POST {target} HTTP/1.1", Body(kind, "hello", model: null), "api-key: client-key-1");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        var recorded = _app.Backend.Requests.Single();
        Assert.That(recorded.Method, Is.EqualTo("POST"));
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/v1/" + Path(kind)), "the backend's own path; the client's api-version is not sent");
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(recorded.Headers.ContainsKey("api-key"), Is.False);
        var body = JsonNode.Parse(recorded.Body)!;
        Assert.That(body["model"]?.GetValue<string>(), Is.EqualTo(deployment));
        Assert.That(recorded.Body, Does.Contain("hello"));
    }

    [Test]
    public async Task Post_AzureDeploymentRouteBodyNamesModel_BodyModelWins()
    {
        var response = await _app.SendAsync("POST /openai/deployments/dep-1/chat/completions?api-version=2024-10-21 HTTP/1.1", Body(RequestKind.ChatCompletion, "hi", model: "fast"));

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(JsonNode.Parse(_app.Backend.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"), "ModelNameReplacement mapped the body's model");
    }

    [Test]
    public async Task Post_AzureDeploymentRoute_PoliciesSeeDeploymentAsModel()
    {
        var response = await _app.SendAsync("POST /openai/deployments/fast/chat/completions?api-version=2024-10-21 HTTP/1.1", Body(RequestKind.ChatCompletion, "hi", model: null));

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(JsonNode.Parse(_app.Backend.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task Post_SecretInResponsesInstructions_Refused()
    {
        await AssertRefusedAsync("/v1/responses", $$"""{"model":"m","instructions":"use {{Secret}}","input":"hi"}""");
    }

    [Test]
    public async Task Post_SecretInResponsesInputItemPart_Refused()
    {
        await AssertRefusedAsync("/v1/responses", $$"""{"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_text","text":"key {{Secret}}"}]}]}""");
    }

    [Test]
    public async Task Post_SecretInResponsesFunctionCallOutput_Refused()
    {
        await AssertRefusedAsync("/openai/v1/responses", $$"""{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":"{{Secret}}"}]}""");
    }

    [Test]
    public async Task Post_SecretInLegacyPromptArray_Refused()
    {
        await AssertRefusedAsync("/v1/completions", $$"""{"model":"m","prompt":["fine","leak {{Secret}}"]}""");
    }

    [TestCase("/v1/responses", """{"model":"m"}""", "input")]
    [TestCase("/openai/v1/responses", """{"model":"m","input":[]}""", "input")]
    [TestCase("/v1/completions", """{"model":"m"}""", "prompt")]
    [TestCase("/openai/deployments/d/completions?api-version=2024-10-21", """{"prompt":""}""", "prompt")]
    [TestCase("/openai/deployments/d/chat/completions?api-version=2024-10-21", """{"messages":[]}""", "messages")]
    public async Task Post_RequiredFieldMissing_Gets400NamingItAndNothingForwarded(string target, string body, string field)
    {
        var response = await _app.SendAsync($"POST {target} HTTP/1.1", body);

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(response.ErrorMessage, Does.Contain($"'{field}'"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [TestCase("/openai/deployments/d/chat/completions?api-version=2024-10-21%26x%3D1")]
    [TestCase("/openai/deployments/d/chat/completions?api-version=a&api-version=b")]
    [TestCase("/openai/responses?api-version=")]
    public async Task Post_ApiVersionNotAPlainVersion_Gets400(string target)
    {
        var response = await _app.SendAsync($"POST {target} HTTP/1.1", Body(RequestKind.ChatCompletion, "hi", "m"));

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [TestCase("POST /openai/deployments/d/embeddings?api-version=2024-10-21 HTTP/1.1")]
    [TestCase("GET /openai/deployments/d/chat/completions?api-version=2024-10-21 HTTP/1.1")]
    [TestCase("POST /openai/deployments/d/images/generations HTTP/1.1")]
    [TestCase("GET /openai/models?api-version=2024-10-21 HTTP/1.1")]
    [TestCase("GET /openai/responses/resp_1?api-version=2025-04-01-preview HTTP/1.1")]
    [TestCase("GET /openai/v1/responses/resp_1 HTTP/1.1")]
    [TestCase("POST /openai/v1/embeddings HTTP/1.1")]
    [TestCase("POST /openai HTTP/1.1")]
    public async Task Azure_OtherPath_Gets404AndNothingForwarded(string requestLine)
    {
        var response = await _app.SendAsync(requestLine, Body(RequestKind.ChatCompletion, "hi", "m"));

        Assert.That(response.Status, Is.EqualTo(404), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("not_found"));
        Assert.That(response.HasHeader("x-luthien-transaction-id"), Is.True);
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [TestCase("POST /openai/deployments/d/./chat/completions HTTP/1.1")]
    [TestCase("POST /openai//v1/responses HTTP/1.1")]
    [TestCase("POST /openai/deployments/d%2Fx/chat/completions HTTP/1.1")]
    [TestCase("POST /openai/deployments/d./chat/completions HTTP/1.1")]
    [TestCase("POST /openai/v1/responses%2F HTTP/1.1")]
    [TestCase("POST /openai/x/../v1/responses HTTP/1.1")]
    [TestCase("POST /v1/responses/. HTTP/1.1")]
    public async Task Post_PathNotLiteral_Gets400AndNothingForwarded(string requestLine)
    {
        var response = await _app.SendAsync(requestLine, Body(RequestKind.Responses, "hi", "m"));

        Assert.That(response.Status, Is.EqualTo(400), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("invalid_request"));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    [TestCase("api-key: client-key-1", 200)]
    [TestCase("api-key: wrong", 401)]
    [TestCase("X-Other: client-key-1", 401)]
    public async Task Post_ApiKeyHeader_IsTheClientKey(string header, int status)
    {
        var response = await RawHttp.SendAsync(
            _app.Address,
            $"POST /openai/deployments/d/chat/completions?api-version=2024-10-21 HTTP/1.1\r\n{header}",
            Body(RequestKind.ChatCompletion, "hi", null));

        Assert.That(response.Status, Is.EqualTo(status), response.Body);
        Assert.That(_app.Backend.Requests.Count, Is.EqualTo(status == 200 ? 1 : 0));
        Assert.That(_app.Backend.Requests.All(r => !r.Headers.ContainsKey("api-key") && r.Headers["Authorization"] == "Bearer backend-key"), Is.True);
    }

    [Test]
    public async Task Post_ApiKeyHeader_NeverInLogs()
    {
        await RawHttp.SendAsync(
            _app.Address,
            "POST /v1/responses HTTP/1.1\r\napi-key: client-key-1",
            Body(RequestKind.Responses, "hi", "m"));

        Assert.That(_app.Logs.Messages, Is.Not.Empty);
        Assert.That(_app.Logs.Messages, Has.None.Contain("client-key-1"));
    }

    [Test]
    public async Task Post_LegacyStreamClientDidNotAskForUsage_BackendAskedClientGetsExactlyItsOwnBytes()
    {
        const string textChunk = """{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"hi","finish_reason":"stop","logprobs":null}]}""";
        _app.Backend.Handler = c => FakeBackend.Sse(
            c,
            "data: " + textChunk[..^1] + ",\"usage\":null}\n\n",
            "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n",
            "data: [DONE]\n\n");

        var response = await _app.SendAsync("POST /v1/completions HTTP/1.1", """{"model":"m","stream":true,"prompt":"hi"}""");

        Assert.That(response.Status, Is.EqualTo(200), response.Body);
        Assert.That(JsonNode.Parse(_app.Backend.Requests.Single().Body)!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True);
        Assert.That(response.Body, Does.Contain("data: " + textChunk + "\n\n"));
        Assert.That(response.Body, Does.Not.Contain("usage"));
        Assert.That(response.Body, Does.EndWith("data: [DONE]\n\n"));
    }

    private async Task AssertRefusedAsync(string target, string body)
    {
        var response = await _app.SendAsync($"POST {target} HTTP/1.1", body);

        Assert.That(response.Status, Is.EqualTo(403), response.Body);
        Assert.That(response.ErrorCode, Is.EqualTo("content_policy_violation"));
        Assert.That(response.Body, Does.Not.Contain(Secret));
        Assert.That(_app.Backend.Requests, Is.Empty);
    }

    private static string Path(RequestKind kind) => kind switch
    {
        RequestKind.ChatCompletion => "chat/completions",
        RequestKind.Responses => "responses",
        _ => "completions",
    };

    /// <summary>A minimal body of the API with <paramref name="text"/> where the client's text goes.</summary>
    private static string Body(RequestKind kind, string text, string? model)
    {
        var body = kind switch
        {
            RequestKind.ChatCompletion => new JsonObject { ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }) },
            RequestKind.Responses => new JsonObject { ["input"] = text },
            _ => new JsonObject { ["prompt"] = text },
        };
        if (model is not null)
        {
            body["model"] = model;
        }

        return body.ToJsonString();
    }
}
