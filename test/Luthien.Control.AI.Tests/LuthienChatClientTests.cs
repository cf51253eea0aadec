using System.Text.Json;
using System.Text.Json.Nodes;
using Luthien.Control.AI.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AI.Tests;

/// <summary>
/// The middleware in a real chain: Microsoft.Extensions.AI's function invocation over <c>UseLuthienControl</c> over the
/// OpenAI SDK's <see cref="IChatClient"/>, which calls a backend in the process answering with real wire bytes.
/// </summary>
public sealed class LuthienChatClientTests
{
    private const string Secret = "sk-ABCDEFGHIJKLMNOPQRSTUVWX";

    private ScriptedOpenAi _backend = null!;
    private string _folder = null!;
    private int _weatherCalls;
    private int _deleteCalls;

    [SetUp]
    public void SetUp()
    {
        _backend = new ScriptedOpenAi();
        _folder = Directory.CreateTempSubdirectory("luthien-ai-").FullName;
        _weatherCalls = 0;
        _deleteCalls = 0;
    }

    [TearDown]
    public void TearDown()
    {
        _backend.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task GetResponse_SecretSplitAcrossUpdates_AppSeesReplacement([Values] bool streaming)
    {
        await using var app = Start(Redact);
        if (streaming)
        {
            _backend.Streams(Wire.Text("The key is sk-ABCDEFGH", "IJKLMNOPQRSTUVWX and", " that is all."));
        }
        else
        {
            _backend.Answers(Wire.Completion($"The key is {Secret} and that is all."));
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "What is the key?");

        Assert.That(response.Text, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        InProcessChain.AssertNowhere(Secret[..12], response, updates);
    }

    [Test]
    public async Task GetResponse_Block_EndsWithContentFilterAndNoPartOfTheMatch([Values] bool streaming)
    {
        await using var app = Start(Block);
        if (streaming)
        {
            _backend.Streams(Wire.Text("Sure. The key is sk-ABCD", "EFGHIJKLMNOPQRSTUVWX and more."));
        }
        else
        {
            _backend.Answers(Wire.Completion($"Sure. The key is {Secret} and more."));
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "What is the key?");

        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Text, Does.StartWith("Sure."));
        InProcessChain.AssertNowhere("sk-", response, updates);
    }

    [Test]
    public async Task GetResponse_BlockedFunctionCall_FunctionNeverRuns([Values] bool streaming)
    {
        await using var app = Start(AllowWeatherOnly);
        if (streaming)
        {
            _backend.Streams(Wire.Call("delete_files", """{"path":""", """ "/"}"""));
        }
        else
        {
            _backend.Answers(Wire.CallCompletion("delete_files", """{"path":"/"}"""));
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "Clean up.", Tools());

        Assert.That(_deleteCalls, Is.Zero);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), Is.Empty);
        Assert.That(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>(), Is.Empty);
        Assert.That(_backend.Requests, Has.Count.EqualTo(1), "the function's result was never sent back");
    }

    [Test]
    public async Task GetResponse_AllowedFunctionCall_FunctionRunsAndItsResultGoesBack([Values] bool streaming)
    {
        await using var app = Start(AllowWeatherOnly);
        if (streaming)
        {
            _backend.Streams(Wire.Call("get_weather", """{"city":""", """ "Paris"}"""));
            _backend.Streams(Wire.Text("It is sunny in Paris."));
        }
        else
        {
            _backend.Answers(Wire.CallCompletion("get_weather", """{"city":"Paris"}"""));
            _backend.Answers(Wire.Completion("It is sunny in Paris."));
        }

        var (response, _) = await InProcessChain.AskAsync(app.Client, streaming, "Weather in Paris?", Tools());

        Assert.That(_weatherCalls, Is.EqualTo(1));
        Assert.That(response.Text, Does.EndWith("It is sunny in Paris."));
        var second = _backend.Requests.ElementAt(1);
        Assert.That(second["messages"]!.AsArray().Any(m => m!["role"]!.GetValue<string>() == "tool" && m["content"]!.ToJsonString().Contains("sunny", StringComparison.Ordinal)), Is.True, second.ToJsonString());
    }

    [Test]
    public async Task GetStreamingResponse_SecretInStreamedCallArguments_CallRunsWithTheSecretRedacted()
    {
        // OpenAI's IChatClient reports the finish reason (and usage) before the tool calls it gathered from the deltas.
        await using var app = Start(Redact);
        _backend.Streams(Wire.Call("get_weather", """{"city":""", $$""" "{{Secret}}"}"""));
        _backend.Streams(Wire.Text("Done."));
        string? asked = null;
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create((string city) => { asked = city; return "sunny"; }, "get_weather")] };

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming: true, "Weather?", options);

        Assert.That(asked, Is.EqualTo("[REDACTED]"));
        Assert.That(response.Text, Does.EndWith("Done."));
        InProcessChain.AssertNowhere(Secret[..12], response, updates);
    }

    [Test]
    public async Task GetResponse_LeakedKeyInPrompt_ThrowsPolicyViolationAndBackendNeverCalled([Values] bool streaming)
    {
        await using var app = Start(LeakedKeys);

        const string projectKey = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123";

        var failure = Assert.ThrowsAsync<ControlPolicyException>(() => InProcessChain.AskAsync(app.Client, streaming, $"my key is {projectKey}"));

        Assert.That(failure!.Code, Is.EqualTo("content_policy_violation"));
        Assert.That(failure.StatusCode, Is.EqualTo(403));
        Assert.That(failure.Message, Does.Not.Contain(projectKey));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [Test]
    public async Task GetResponse_ClientApiKeyAuthInProcess_RefusedSayingWhyAndWhatToDo()
    {
        await using var app = Start("""{ "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } }""");

        var failure = Assert.ThrowsAsync<ControlPolicyException>(() => InProcessChain.AskAsync(app.Client, streaming: false, "Hi"));

        Assert.That(failure!.Code, Is.EqualTo("invalid_api_key"));
        Assert.That(failure.Message, Does.Contain("in-process").And.Contain("Leave ClientApiKeyAuth out"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [Test]
    public async Task GetResponse_ModelMapping_BackendGetsTheMappedModel([Values] bool streaming)
    {
        await using var app = Start(MapModel);
        if (streaming)
        {
            _backend.Streams(Wire.Text("Hello."));
        }
        else
        {
            _backend.Answers(Wire.Completion("Hello."));
        }

        await InProcessChain.AskAsync(app.Client, streaming, "Hi", new ChatOptions { ModelId = "fast" });

        Assert.That(_backend.Requests.Single()["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public async Task GetResponse_PolicedAndNothingChanged_AppGetsNoRawRepresentation([Values] bool streaming)
    {
        // The raw objects hold what no policy read (a streamed call's argument fragments, say): a policed answer has none.
        await using var app = Start(Redact);
        if (streaming)
        {
            _backend.Streams(Wire.Text("Nothing ", "secret here."));
        }
        else
        {
            _backend.Answers(Wire.Completion("Nothing secret here."));
        }

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming, "Hi");

        Assert.That(response.Text, Is.EqualTo("Nothing secret here."));
        Assert.That(response.ResponseId, Is.EqualTo("chatcmpl-test"));
        Assert.That(response.RawRepresentation, Is.Null);
        Assert.That(response.Messages.Select(m => m.RawRepresentation), Has.All.Null);
        Assert.That(updates.Select(u => u.RawRepresentation), Has.All.Null);
    }

    [Test]
    public async Task GetStreamingResponse_PassThroughChain_AppGetsEveryUpdateAsTheInnerClientMadeIt()
    {
        await using var app = Start(policy: null);
        _backend.Streams(Wire.Text("Hello", " there."));

        var (response, updates) = await InProcessChain.AskAsync(app.Client, streaming: true, "Hi");

        Assert.That(response.Text, Is.EqualTo("Hello there."));
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(updates, Has.All.Matches<ChatResponseUpdate>(u => u.RawRepresentation is not null));
    }

    [Test]
    public async Task GetStreamingResponse_InnerClientFailsMidStream_AppGetsItsOwnException([Values] bool policed)
    {
        await using var app = Start(policed ? Redact : null);
        _backend.StreamsThenBreaks(Wire.Text("Hello")[..2]);

        var failure = Assert.CatchAsync(() => InProcessChain.AskAsync(app.Client, streaming: true, "Hi"));

        Assert.That(failure, Is.Not.InstanceOf<ControlException>());
        Assert.That(failure, Is.Not.InstanceOf<InnerClientException>());
    }

    [Test]
    public void UseLuthienControl_WithoutAddLuthienControl_ThrowsNamingTheCall()
    {
        var services = new ServiceCollection();
        services.AddChatClient(_ => _backend.CreateClient()).UseLuthienControl();
        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<IChatClient>(),
            Throws.InvalidOperationException.With.Message.Contains("services.AddLuthienControl("));
    }

    private static string Redact => """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } }""";

    private static string Block => """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "block" } }""";

    private static string AllowWeatherOnly => """{ "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } }""";

    private static string LeakedKeys => """{ "type": "LeakedApiKeyDetection", "config": { "patterns": [] } }""";

    private static string MapModel => """{ "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } }""";

    private ChatOptions Tools() => new()
    {
        Tools =
        [
            AIFunctionFactory.Create((string city) => { Interlocked.Increment(ref _weatherCalls); return $"sunny in {city}"; }, "get_weather", "The weather in a city."),
            AIFunctionFactory.Create((string path) => { Interlocked.Increment(ref _deleteCalls); return "deleted"; }, "delete_files", "Deletes files."),
        ],
    };

    private TestApp Start(string? policy) => InProcessChain.Start(_folder, policy, _backend.CreateClient());
}
