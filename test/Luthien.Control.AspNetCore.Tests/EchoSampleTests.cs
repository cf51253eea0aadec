using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>The sample with no configuration at all: the embedded echo backend answers.</summary>
public class EchoSampleTests
{
    private LuthienAppFactory _app = null!;

    [OneTimeSetUp]
    public void Start() => _app = new LuthienAppFactory(new Dictionary<string, string?>());

    [OneTimeTearDown]
    public async Task StopAsync() => await _app.DisposeAsync();

    [Test]
    public async Task Health_Get_ReturnsOk()
    {
        using var http = _app.CreateClient();

        using var response = await http.GetAsync("/health");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("""{"status":"ok"}"""));
    }

    [Test]
    public async Task Health_ContentType_IsApplicationJsonAsEveryJsonAnswer()
    {
        using var http = _app.CreateClient();

        using var response = await http.GetAsync("/health");

        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
    }

    [Test]
    public async Task ChatCompletion_EchoBackend_RepeatsLastUserMessageWithUsage()
    {
        var result = await _app.CreateChatClient(model: "any-model").CompleteChatAsync(
            [new SystemChatMessage("be brief"), new UserChatMessage("first"), new AssistantChatMessage("ok"), new UserChatMessage("hello  echo world")]);

        Assert.That(result.Value.Content[0].Text, Is.EqualTo("hello  echo world"));
        Assert.That(result.Value.Model, Is.EqualTo("any-model"));
        Assert.That(result.Value.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(result.Value.Usage.OutputTokenCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Streaming_EchoBackend_OneChunkPerWordWithUsageWhenAsked()
    {
        var options = new ChatCompletionOptions();
        var updates = new List<StreamingChatCompletionUpdate>();

        // The .NET client always asks for usage (stream_options.include_usage) when streaming.
        await foreach (var update in _app.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage("one two  three")], options))
        {
            updates.Add(update);
        }

        var pieces = updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text).Where(t => t.Length > 0).ToList();
        Assert.That(pieces, Is.EqualTo(new[] { "one ", "two  ", "three" }));
        Assert.That(updates.Select(u => u.FinishReason).OfType<ChatFinishReason>().Single(), Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(updates.Last().Usage?.OutputTokenCount, Is.EqualTo(3));
    }

    [Test]
    public async Task Streaming_EchoBackendWithoutIncludeUsage_SendsNoUsageChunk()
    {
        using var http = _app.CreateClient();
        using var response = await http.PostAsync(
            "/v1/chat/completions",
            new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"a b"}]}""", Encoding.UTF8, "application/json"));

        var body = await response.Content.ReadAsStringAsync();

        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(events[^1], Is.EqualTo("data: [DONE]"));
        Assert.That(body.Split("data: [DONE]").Length - 1, Is.EqualTo(1));
        foreach (var e in events[..^1])
        {
            var chunk = JsonNode.Parse(e["data: ".Length..])!;
            Assert.That(chunk["object"]!.GetValue<string>(), Is.EqualTo("chat.completion.chunk"));
            // The library asked the backend for usage on its own (to log tokens): the usage chunk is not shown.
            Assert.That(chunk["usage"], Is.Null);
            Assert.That(chunk["choices"]!.AsArray(), Is.Not.Empty);
        }
    }

    [Test]
    public async Task Models_EchoBackend_ListsEchoModel()
    {
        var models = await new OpenAI.OpenAIClient(new System.ClientModel.ApiKeyCredential("k"), _app.CreateClientOptions()).GetOpenAIModelClient().GetModelsAsync();

        Assert.That(models.Value.Select(m => m.Id), Is.EqualTo(new[] { "echo" }));
    }

    [Test]
    public async Task UnknownPath_EchoBackend_Gets404Error()
    {
        using var http = _app.CreateClient();

        using var response = await http.GetAsync("/v1/nothing/here");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("not_found"));
    }
}
