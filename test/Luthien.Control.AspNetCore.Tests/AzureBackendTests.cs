using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// An Azure OpenAI backend (<c>Luthien:Backend:Style</c> Azure) is called as Azure expects — deployment paths,
/// <c>api-version</c>, <c>api-key</c> — whichever route and client the request came by.
/// </summary>
public class AzureBackendTests : FakeBackendAppTests
{
    private const string ChatAnswer = """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"from azure"},"finish_reason":"stop"}]}""";

    private protected override Dictionary<string, string?> Settings(FakeBackend backend) => Settings(backend, "Http");

    [Test]
    public async Task CompleteChat_OpenAiClient_BackendGetsDeploymentPathApiVersionAndApiKey()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, ChatAnswer);

        ChatCompletion completion = await App.CreateChatClient(model: "gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("from azure"));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/openai/deployments/gpt-4o/chat/completions?api-version=" + BackendOptions.DefaultAzureApiVersion));
        AssertAzureKey(recorded);
    }

    [Test]
    public async Task CompleteChatStreaming_OpenAiClient_StreamsFromAzureBackend()
    {
        Backend.Handler = c => FakeBackend.Sse(
            c,
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ab\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n");

        var text = new StringBuilder();
        await foreach (var update in App.CreateChatClient(model: "gpt-4o").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That(text.ToString(), Is.EqualTo("ab"));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Does.StartWith("/openai/deployments/gpt-4o/chat/completions?api-version="));
        AssertAzureKey(recorded);
    }

    [TestCase("/v1/responses", """{"model":"gpt-4o","input":"hi"}""", "/openai/v1/responses")]
    [TestCase("/openai/responses?api-version=2025-04-01-preview", """{"model":"gpt-4o","input":"hi"}""", "/openai/responses?api-version=2025-04-01-preview")]
    [TestCase("/openai/deployments/dep-1/responses?api-version=2025-04-01-preview", """{"input":"hi"}""", "/openai/responses?api-version=2025-04-01-preview")]
    [TestCase("/openai/deployments/dep-1/chat/completions?api-version=2025-01-01-preview", """{"messages":[{"role":"user","content":"hi"}]}""", "/openai/deployments/dep-1/chat/completions?api-version=2025-01-01-preview")]
    [TestCase("/v1/completions", """{"model":"inst","prompt":"hi"}""", "/openai/deployments/inst/completions?api-version=2024-10-21")]
    [TestCase("/openai/v1/completions", """{"model":"inst","prompt":"hi"}""", "/openai/deployments/inst/completions?api-version=2024-10-21")]
    public async Task Post_AnyRoute_AzureBackendCalledInAzureStyle(string target, string body, string expected)
    {
        using var http = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("api-key", "client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo(expected));
        AssertAzureKey(recorded);
        Assert.That(JsonNode.Parse(recorded.Body)!["model"], Is.Not.Null, "the model stays in the body");
    }

    [Test]
    public async Task Post_ModelNotADeploymentName_Gets400AndNothingForwarded()
    {
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"a/../../x","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(Backend.Requests, Is.Empty);
    }

    [Test]
    public async Task CompleteChat_SdkClientAzureBackend_AzureClientCallsDeploymentWithBackendKey()
    {
        await using var app = new LuthienAppFactory(Settings(Backend, "Sdk"));
        Backend.Handler = c => FakeBackend.Json(c, 200, ChatAnswer);

        ChatCompletion completion = await app.CreateChatClient(model: "gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.That(completion.Content[0].Text, Is.EqualTo("from azure"));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.Headers["User-Agent"], Does.Contain("azsdk-net-AI.OpenAI"), "sent by the Azure.AI.OpenAI client");
        Assert.That(recorded.PathAndQuery, Does.StartWith("/openai/deployments/gpt-4o/chat/completions?api-version="));
        AssertAzureKey(recorded);
    }

    [Test]
    public async Task Post_SdkClientResponses_GoesAsRawHttpToTheSameAzureBackend()
    {
        await using var app = new LuthienAppFactory(Settings(Backend, "Sdk"));
        using var http = app.CreateClient();

        using var response = await http.PostAsync("/v1/responses", new StringContent("""{"model":"gpt-4o","input":"hi"}""", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/openai/v1/responses"));
        AssertAzureKey(recorded);
    }

    [Test]
    public async Task Post_SdkClientAzureBackendWithoutAnyKey_Gets502SayingWhatToSetAndNothingSent()
    {
        Assume.That(Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Is.Null.Or.Empty, "the key would default to OPENAI_API_KEY");
        var settings = Settings(Backend, "Sdk");
        settings.Remove("Luthien:Backend:ApiKey");
        await using var app = new LuthienAppFactory(settings);
        using var http = app.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadGateway));
        Assert.That(body["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_unavailable"));
        Assert.That(body["error"]!["message"]!.GetValue<string>(), Does.Contain("Luthien:Backend:ApiKey"));
        Assert.That(Backend.Requests, Is.Empty);
    }

    private static Dictionary<string, string?> Settings(FakeBackend backend, string client) => new()
    {
        // The resource's endpoint: the fake backend's root, where the library adds /openai.
        ["Luthien:Backend:BaseUrl"] = new Uri(backend.BaseUrl, "/").ToString(),
        ["Luthien:Backend:Style"] = "Azure",
        ["Luthien:Backend:ApiKey"] = "backend-key",
        ["Luthien:Backend:Client"] = client,
    };

    private static void AssertAzureKey(RecordedRequest recorded)
    {
        Assert.That(recorded.Method, Is.EqualTo("POST"));
        Assert.That(recorded.Headers["api-key"], Is.EqualTo("backend-key"));
        Assert.That(recorded.Headers.ContainsKey("Authorization"), Is.False, "the client's key never reaches the backend");
    }
}
