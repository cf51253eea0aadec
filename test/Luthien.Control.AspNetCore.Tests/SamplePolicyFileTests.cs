using System.ClientModel;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>The sample's policy file, loaded from disk, with the sample's own MaxTokensCap policy in it.</summary>
public class SamplePolicyFileTests
{
    private FakeBackend _backend = null!;
    private LuthienAppFactory _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""");
        _app = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = Path.Combine(AppContext.BaseDirectory, "policies", "request-controls.json"),
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Test]
    public async Task ChatCompletion_SamplePolicyFile_MapsModelAndCapsTokens()
    {
        await _app.CreateChatClient(model: "fast").CompleteChatAsync(
            [new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 4000 });

        var sent = JsonNode.Parse(_backend.Requests.Last().Body)!;
        Assert.That(sent["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
        Assert.That(sent["max_completion_tokens"]!.GetValue<int>(), Is.EqualTo(512));
    }

    [Test]
    public void ChatCompletion_SamplePolicyFileWrongKey_Gets401()
    {
        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await _app.CreateChatClient(apiKey: "other").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.That(ex!.Status, Is.EqualTo(401));
    }
}
