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

/// <summary>The sample's other policy files, on the echo backend.</summary>
public class SampleStreamingPolicyFileTests
{
    private static LuthienAppFactory App(string file) =>
        new(new Dictionary<string, string?> { ["Luthien:PolicyFile"] = Path.Combine(AppContext.BaseDirectory, "policies", file) });

    [Test]
    public async Task ContractExample_Loads_AndRedactsKeysInStreamedAnswers()
    {
        await using var app = App("contract-example.json");
        var key = "sk-" + new string('Q', 30);
        var text = new System.Text.StringBuilder();

        await foreach (var update in app.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage($"echo {key} please")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That(text.ToString(), Is.EqualTo("echo [REDACTED] please"));
    }

    [Test]
    public async Task StreamingDemo_Disclaimer_AddedInBothModes()
    {
        await using var app = App("streaming-demo.json");
        var client = app.CreateChatClient();
        var streamed = new System.Text.StringBuilder();

        var whole = await client.CompleteChatAsync([new UserChatMessage("code SECRET-123456 here")]);
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("code SECRET-123456 here")]))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.That(whole.Value.Content[0].Text, Is.EqualTo("code [REDACTED] here (AI-generated)"));
        Assert.That(streamed.ToString(), Is.EqualTo("code [REDACTED] here (AI-generated)"));
    }

    [Test]
    public async Task StreamingDemo_BlockedWord_EndsWithContentFilter()
    {
        await using var app = App("streaming-demo.json");
        var finish = new List<ChatFinishReason>();
        var streamed = new System.Text.StringBuilder();

        await foreach (var update in app.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage("this is FORBIDDEN text")]))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            if (update.FinishReason is { } reason)
            {
                finish.Add(reason);
            }
        }

        Assert.That(streamed.ToString(), Is.EqualTo("this is "));
        Assert.That(finish, Is.EqualTo(new[] { ChatFinishReason.ContentFilter }));
    }
}
