using System.Text.Json;
using Luthien.Control.AI.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AI.Tests;

/// <summary>
/// Ways around the policies through what M.E.AI can carry beyond a chat completion's text: reasoning, refusals, several
/// messages, raw representations. Each runs the real chain (function invocation over <c>UseLuthienControl</c>) over the
/// OpenAI SDK's client where its wire answer produces the case, else over a client answering with M.E.AI objects.
/// </summary>
public sealed class LuthienChatClientBypassTests
{
    private const string Secret = "sk-ABCDEFGHIJKLMNOPQRSTUVWX";
    private const string ProjectKey = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123";
    private const string Redact = """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } }""";
    private const string Block = """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "block" } }""";
    private const string AllowWeatherOnly = """{ "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } }""";
    private const string LeakedKeys = """{ "type": "LeakedApiKeyDetection", "config": { "patterns": [] } }""";

    private ScriptedOpenAi _backend = null!;
    private ScriptedChatClient _inner = null!;
    private string _folder = null!;
    private int _weatherCalls;
    private int _deleteCalls;

    [SetUp]
    public void SetUp()
    {
        _backend = new ScriptedOpenAi();
        _inner = new ScriptedChatClient();
        _folder = Directory.CreateTempSubdirectory("luthien-ai-").FullName;
        _weatherCalls = 0;
        _deleteCalls = 0;
    }

    [TearDown]
    public void TearDown()
    {
        _backend.Dispose();
        _inner.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task GetResponse_SecretInReasoning_AppSeesReplacement([Values] bool streaming)
    {
        await using var app = Start(Redact, _inner);
        if (streaming)
        {
            _inner.Streams(
                new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("the key is sk-ABCDEFGH")]),
                new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("IJKLMNOPQRSTUVWX, fine")]),
                new ChatResponseUpdate(ChatRole.Assistant, "Hello.") { FinishReason = ChatFinishReason.Stop });
        }
        else
        {
            _inner.Answers(new ChatResponse(new ChatMessage(ChatRole.Assistant, [new TextReasoningContent($"the key is {Secret}, fine"), new TextContent("Hello.")])));
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "Hi");

        Assert.That(Reasoning(response), Is.EqualTo("the key is [REDACTED], fine"));
        Assert.That(response.Text, Is.EqualTo("Hello."));
        InProcessChain.AssertNowhere(Secret[..12], response, updates);
    }

    [Test]
    public async Task GetStreamingResponse_CallWhileTextHeldThenBlocked_FunctionNeverRuns([Values] bool callCarriesFinish)
    {
        // The call goes by while the text before it could still become a match; the block is decided after it.
        await using var app = Start(Block, _inner);
        _inner.Streams(
            new ChatResponseUpdate(ChatRole.Assistant, "The key is sk-ABCD"),
            new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })])
            {
                FinishReason = callCarriesFinish ? ChatFinishReason.ToolCalls : null,
            },
            new ChatResponseUpdate(ChatRole.Assistant, "EFGHIJKLMNOPQRSTUVWX.") { FinishReason = callCarriesFinish ? null : ChatFinishReason.ToolCalls });
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string city) => { Interlocked.Increment(ref _weatherCalls); return "sunny"; }, "get_weather")] };

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming: true, "Hi", options);

        Assert.That(_weatherCalls, Is.Zero);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>(), Is.Empty);
        InProcessChain.AssertNowhere("sk-", response, updates);
    }

    [Test]
    public async Task GetResponse_BufferedAnswerBlockedWithACall_FunctionNeverRuns()
    {
        await using var app = Start(Block, _inner);
        _inner.Answers(new ChatResponse(new ChatMessage(ChatRole.Assistant,
        [
            new TextContent($"The key is {Secret}."),
            new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" }),
        ])) { FinishReason = ChatFinishReason.ToolCalls });
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string city) => { Interlocked.Increment(ref _weatherCalls); return "sunny"; }, "get_weather")] };

        var (response, _) = await InProcessChain.AskAsync(app.Client, streaming: false, "Hi", options);

        Assert.That(_weatherCalls, Is.Zero);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), Is.Empty);
        Assert.That(response.Text, Does.Not.Contain("sk-"));
    }

    [Test]
    public async Task GetResponse_SecretInRefusal_AppSeesReplacementAsRefusal([Values] bool streaming)
    {
        await using var app = Start(Redact, null);
        if (streaming)
        {
            _backend.Streams(
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","refusal":""},"finish_reason":null}]}""",
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"refusal":"No: sk-ABCDEFGHIJKLMNOPQRSTUVWX."},"finish_reason":null}]}""",
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""");
        }
        else
        {
            _backend.Answers("""{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"No: sk-ABCDEFGHIJKLMNOPQRSTUVWX."},"finish_reason":"stop"}]}""");
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "Hi");

        var refusal = response.Messages.SelectMany(m => m.Contents).OfType<ErrorContent>().Single();
        Assert.That((refusal.Message, refusal.ErrorCode), Is.EqualTo(("No: [REDACTED].", "Refusal")));
        InProcessChain.AssertNowhere(Secret[..12], response, updates);
    }

    [Test]
    public async Task GetResponse_SecretInAnEarlierMessage_AppSeesReplacement()
    {
        await using var app = Start(Redact, _inner);
        _inner.Answers(new ChatResponse(
        [
            new ChatMessage(ChatRole.Assistant, $"The key is {Secret}."),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c0", "done")]),
            new ChatMessage(ChatRole.Assistant, "All done."),
        ]));

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming: false, "Hi");

        Assert.That(response.Messages.Select(m => m.Text), Is.EqualTo(new[] { "The key is [REDACTED].", string.Empty, "All done." }));
        InProcessChain.AssertNowhere(Secret[..12], response, updates);
    }

    [Test]
    public async Task GetResponse_BlockedCallInAnEarlierMessage_FunctionNeverRuns()
    {
        await using var app = Start(AllowWeatherOnly, _inner);
        _inner.Answers(new ChatResponse(
        [
            new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "delete_files", new Dictionary<string, object?> { ["path"] = "/" })]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c0", "done")]),
        ]));
        _inner.Answers(new ChatResponse(new ChatMessage(ChatRole.Assistant, "All done.")));

        var (response, _) = await InProcessChain.AskAsync(app.Client, streaming: false, "Clean up.", Tools());

        Assert.That(_deleteCalls, Is.Zero);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), Is.Empty);
    }

    [Test]
    public async Task GetStreamingResponse_CallAfterBlockedText_FunctionNeverRuns([Values] bool realChain)
    {
        await using var app = Start(Block, realChain ? null : _inner);
        if (realChain)
        {
            _backend.Streams(
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"The key is sk-ABCDEFGHIJKLMNOPQRSTUVWX"},"finish_reason":null}]}""",
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":null}]}""",
                """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""");
        }
        else
        {
            _inner.Streams(
                new ChatResponseUpdate(ChatRole.Assistant, $"The key is {Secret}"),
                new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]) { FinishReason = ChatFinishReason.ToolCalls });
        }

        _backend.Streams(Wire.Text("Sunny."));
        _inner.Streams(new ChatResponseUpdate(ChatRole.Assistant, "Sunny."));

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming: true, "Hi", Tools());

        Assert.That(_weatherCalls, Is.Zero);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>(), Is.Empty);
    }

    [Test]
    public async Task GetResponse_SecretOnlyInTheRawRepresentationOfAMessage_NeverReachesTheBackend([Values] bool contentLevel)
    {
        await using var app = Start(LeakedKeys, null);
        _backend.Answers(Wire.Completion("Hello."));
        var message = contentLevel
            ? new ChatMessage(ChatRole.User, [new TextContent("Hello") { RawRepresentation = OpenAI.Chat.ChatMessageContentPart.CreateTextPart($"my key is {ProjectKey}") }])
            : new ChatMessage(ChatRole.User, "Hello") { RawRepresentation = new OpenAI.Chat.UserChatMessage($"my key is {ProjectKey}") };

        try
        {
            await app.Client.GetResponseAsync([message]);
        }
        catch (ControlPolicyException)
        {
            // Refusing it is as good as not sending it.
        }

        Assert.That(_backend.Requests.Select(r => r.ToJsonString()), Has.None.Contains(ProjectKey[..12]));
    }

    private static string Reasoning(ChatResponse response) =>
        string.Concat(response.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Select(r => r.Text));

    private ChatOptions Tools() => new()
    {
        Tools =
        [
            AIFunctionFactory.Create((string city) => { Interlocked.Increment(ref _weatherCalls); return $"sunny in {city}"; }, "get_weather", "The weather in a city."),
            AIFunctionFactory.Create((string path) => { Interlocked.Increment(ref _deleteCalls); return "deleted"; }, "delete_files", "Deletes files."),
        ],
    };

    private TestApp Start(string policy, IChatClient? inner) => InProcessChain.Start(_folder, policy, inner ?? _backend.CreateClient());
}
