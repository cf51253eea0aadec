using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Azure.AI.OpenAI;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// The real Azure.AI.OpenAI client in front of the app: its deployment route, <c>api-version</c> and <c>api-key</c>
/// credential are served like any chat completion, and an OpenAI-style backend gets the request in its own style.
/// </summary>
/// <remarks>
/// The Azure client's protocol methods are used, its answers read with OpenAI's own models: this project runs OpenAI
/// 2.15 (as hosts on Microsoft.Extensions.AI.OpenAI 10.x do), where Azure.AI.OpenAI 2.1.0's typed chat methods fail
/// (<c>MissingMethodException</c> on <c>ChatCompletionOptions.SerializedAdditionalRawData</c>); its protocol methods,
/// the ones the library's own SDK backend uses, work.
/// </remarks>
public class AzureClientTests : FakeBackendAppTests
{
    private const string Policies = """
        { "type": "SerialPolicy", "config": { "name": "root", "policies": [
          { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
          { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
          { "type": "SendBackendRequest", "config": {} }
        ] } }
        """;

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        return new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:PolicyFile"] = PolicyFiles.Write(Policies),
        };
    }

    [Test]
    public async Task CompleteChat_AzureClientWithApiKey_BackendGetsOpenAiStyleRequestWithDeploymentAsModel()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hello back"},"finish_reason":"stop"}],"prompt_filter_results":[]}""");

        var result = await Client().GetChatClient("my-deployment").CompleteChatAsync(Request(stream: false), new RequestOptions());

        var completion = ModelReaderWriter.Read<ChatCompletion>(result.GetRawResponse().Content)!;
        Assert.That(completion.Content[0].Text, Is.EqualTo("hello back"));
        AssertBackendRequest(Backend.Requests.Single(), stream: false);
    }

    [Test]
    public async Task CompleteChatStreaming_AzureClientWithApiKey_StreamsThroughAndBackendGetsOpenAiStyleRequest()
    {
        Backend.Handler = c => FakeBackend.Sse(
            c,
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hel\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n");

        var result = await Client().GetChatClient("my-deployment").CompleteChatAsync(Request(stream: true), new RequestOptions { BufferResponse = false });

        var text = new StringBuilder();
        var done = false;
        await foreach (var item in SseParser.Create(result.GetRawResponse().ContentStream!).EnumerateAsync())
        {
            if (item.Data == "[DONE]")
            {
                done = true;
                continue;
            }

            var update = ModelReaderWriter.Read<StreamingChatCompletionUpdate>(BinaryData.FromString(item.Data))!;
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That(result.GetRawResponse().Headers.TryGetValue("Content-Type", out var contentType) ? contentType : null, Does.StartWith("text/event-stream"));
        Assert.That(text.ToString(), Is.EqualTo("hello"));
        Assert.That(done, Is.True);
        AssertBackendRequest(Backend.Requests.Single(), stream: true);
    }

    [Test]
    public void CompleteChat_AzureClientWrongKey_401AndBackendNeverCalled()
    {
        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await Client("wrong-key").GetChatClient("my-deployment").CompleteChatAsync(Request(stream: false), new RequestOptions()));

        Assert.That(ex!.Status, Is.EqualTo(401));
        Assert.That(Backend.Requests, Is.Empty);
    }

    [Test]
    public void CompleteChat_AzureClientLeakedKey_403AndBackendNeverCalled()
    {
        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await Client().GetChatClient("my-deployment").CompleteChatAsync(Request(stream: false, "sk-" + new string('a', 48)), new RequestOptions()));

        Assert.That(ex!.Status, Is.EqualTo(403));
        Assert.That(Backend.Requests, Is.Empty);
    }

    private static void AssertBackendRequest(RecordedRequest recorded, bool stream)
    {
        Assert.That(recorded.Method, Is.EqualTo("POST"));
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/v1/chat/completions"), "OpenAI style: no deployment path, no api-version");
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(recorded.Headers.ContainsKey("api-key"), Is.False, "the client's credential never reaches the backend");
        Assert.That(recorded.Headers.Values, Has.None.Contain("client-key-1"));
        var body = JsonNode.Parse(recorded.Body)!;
        Assert.That(body["model"]!.GetValue<string>(), Is.EqualTo("my-deployment"));
        Assert.That(body["stream"]?.GetValue<bool>() ?? false, Is.EqualTo(stream));
    }

    /// <summary>A chat body as the Azure client would send it: no model (the deployment in the path names it).</summary>
    private static BinaryContent Request(bool stream, string text = "hi") =>
        BinaryContent.Create(BinaryData.FromString(new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
            ["stream"] = stream,
        }.ToJsonString()));

    /// <summary>The Azure client pointed at the app (the test server), sending its key as <c>api-key</c>.</summary>
    private AzureOpenAIClient Client(string key = "client-key-1")
    {
        var http = App.CreateClient();
        var options = new AzureOpenAIClientOptions { Transport = new HttpClientPipelineTransport(http), RetryPolicy = new ClientRetryPolicy(0) };
        return new AzureOpenAIClient(http.BaseAddress!, new ApiKeyCredential(key), options);
    }
}
