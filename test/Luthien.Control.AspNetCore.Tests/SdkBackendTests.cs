using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Chat completions sent through the OpenAI SDK client (<c>Luthien:Backend:Client=Sdk</c>).</summary>
public class SdkBackendTests : FakeBackendAppTests
{
    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        return new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:Backend:Client"] = "Sdk",
        };
    }

    [Test]
    public async Task ChatCompletion_SdkClient_SendsBodyWholeWithBackendKey()
    {
        Backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi back"},"finish_reason":"stop"}],"vendor":1}""");
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}],"vendor_opt":true}""", Encoding.UTF8, "application/json"));

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.That(body["vendor"]!.GetValue<int>(), Is.EqualTo(1));
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo("/v1/chat/completions"));
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(JsonNode.Parse(recorded.Body)!["vendor_opt"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task ChatCompletion_SdkClientBackendConnectionNamesHeader_HeaderIsNotForwardedToClient()
    {
        Backend.Handler = c =>
        {
            c.Response.Headers.Connection = "X-Backend-Hop";
            c.Response.Headers["X-Backend-Hop"] = "connection-only";
            c.Response.Headers["X-Kept"] = "yes";
            return FakeBackend.Json(c, 200, """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""");
        };
        using var http = App.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.That(response.Headers.Contains("X-Kept"), Is.True);
        Assert.That(response.Headers.Contains("X-Backend-Hop"), Is.False);
    }

    [Test]
    public async Task Streaming_SdkClient_StreamsThrough()
    {
        Backend.Handler = c => FakeBackend.Sse(
            c,
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ab\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n");

        var text = new StringBuilder();
        await foreach (var update in App.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That(text.ToString(), Is.EqualTo("ab"));
    }

    [Test]
    public void ChatCompletion_SdkClientBackend500_PassesThrough()
    {
        Backend.Handler = c => FakeBackend.Json(c, 500, """{"error":{"message":"boom","type":"server_error","param":null,"code":null}}""");

        var ex = Assert.ThrowsAsync<System.ClientModel.ClientResultException>(async () =>
            await App.CreateChatClient().CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.That(ex!.Status, Is.EqualTo(500));
        Assert.That(ex.Message, Does.Contain("boom"));
    }

    [TestCase("/v1/responses", """{"model":"m","input":"hi"}""", "/v1/responses")]
    [TestCase("/v1/completions", """{"model":"m","prompt":"hi"}""", "/v1/completions")]
    [TestCase("/openai/deployments/d/completions?api-version=2024-10-21", """{"prompt":"hi"}""", "/v1/completions")]
    public async Task ResponsesOrLegacy_SdkClient_GoesAsRawHttpToTheSameBackendWithItsKey(string target, string body, string expected)
    {
        using var http = App.CreateClient();

        using var response = await http.PostAsync(target, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
        var recorded = Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, Is.EqualTo(expected));
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(recorded.Headers.GetValueOrDefault("User-Agent") ?? string.Empty, Does.Not.Contain("OpenAI"), "not through the SDK");
    }
}
