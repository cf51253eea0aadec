using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>Which text of an answer carries the secret.</summary>
public enum Channel
{
    /// <summary>Answer text (chat content, Responses output_text, legacy text).</summary>
    Text,

    /// <summary>A refusal (chat and Responses).</summary>
    Refusal,

    /// <summary>A tool call's arguments (chat and Responses).</summary>
    ToolArguments,

    /// <summary>A reasoning summary (Responses).</summary>
    Reasoning,
}

/// <summary>
/// ResponseContentPolicy on every policed API, buffered and streamed, by every route style: a key the model says is
/// redacted in every channel the API has (no byte of it reaches the client: not in deltas, repeats or logprobs), a block
/// ends the answer as each API ends a filtered one, and <c>scope</c> narrows what is read.
/// </summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class ResponseContentMatrixTests(BackendKind backend)
{
    /// <summary>Why refusal cells are the raw backend's only.</summary>
    private const string RefusalWhy =
        "Microsoft.Extensions.AI has no refusal content: its OpenAI client drops a streamed refusal and makes a buffered one an ErrorContent, which the IChatClient backend does not write.";

    private readonly BackendKind _backend = backend;

    /// <summary>API × buffered/streamed × route × each channel the API carries.</summary>
    private static IEnumerable<TestCaseData> ChannelCells() =>
        from cell in MatrixRequests.Cells()
        from channel in Enum.GetValues<Channel>()
        where ChannelsOf((ModelApi)cell.Arguments[0]!).Contains(channel)
        select new TestCaseData([.. cell.Arguments, channel]);

    private static IEnumerable<TestCaseData> TextCells() => MatrixRequests.Cells();

    private static IEnumerable<TestCaseData> ToolApiCells() => MatrixRequests.CellsOf([ModelApi.Chat, ModelApi.Responses]);

    /// <summary>Each API buffered and streamed, to an Azure-style backend (deployment paths, api-version, api-key).</summary>
    private static IEnumerable<TestCaseData> AzureBackendCells() => MatrixRequests.Cells(RouteStyle.OpenAI, RouteStyle.AzureDeployment);

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [TestCaseSource(nameof(ChannelCells))]
    public async Task Post_RedactAndModelSaysSecret_NoByteOfItReachesClientAndReplacementDoes(ModelApi api, bool stream, RouteStyle route, Channel channel)
    {
        if (channel == Channel.Refusal)
        {
            BackendKinds.AssumeRawWire(_backend, RefusalWhy);
        }

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Redact, api, stream, route, MatrixTurns.SecretIn(channel));

        MatrixAnswers.AssertNoSecret(answer);
        Assert.That(Said(answer, channel), Is.EqualTo(Expected(channel, redacted: true)));
        MatrixAnswers.AssertEndedNormally(api, answer, toolCall: channel == Channel.ToolArguments);
    }

    [TestCaseSource(nameof(AzureBackendCells))]
    public async Task Post_RedactWithAzureBackend_SecretRedacted(ModelApi api, bool stream, RouteStyle route)
    {
        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Redact, api, stream, route, MatrixTurns.SecretIn(Channel.Text), azureBackend: true);

        MatrixAnswers.AssertNoSecret(answer);
        Assert.That(answer.Text, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(CoverageHosts.Backend.Requests.Single().PathAndQuery, Does.StartWith("/openai/"));
        Assert.That(CoverageHosts.Backend.Requests.Single().Headers["api-key"], Is.EqualTo("backend-key"));
    }

    [TestCaseSource(nameof(ChannelCells))]
    public async Task Post_BlockAndModelSaysSecret_AnswerEndsContentFilterWithoutAnyOfIt(ModelApi api, bool stream, RouteStyle route, Channel channel)
    {
        if (channel == Channel.Refusal)
        {
            BackendKinds.AssumeRawWire(_backend, RefusalWhy);
        }

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Block, api, stream, route, MatrixTurns.SecretIn(channel));

        MatrixAnswers.AssertNoSecret(answer);
        Assert.That(answer.Raw, Does.Not.Contain("that is all"), "nothing after the match is shown");
        if (channel != Channel.ToolArguments)
        {
            Assert.That(Said(answer, channel), Is.EqualTo(Expected(channel, redacted: true).Split('[')[0]), "the text before the match is shown");
        }

        MatrixAnswers.AssertEndedByFilter(api, answer);
    }

    [TestCaseSource(nameof(TextCells))]
    public async Task Post_RedactSecretAtEndOfAnswer_RedactedWhenTheTextEnds(ModelApi api, bool stream, RouteStyle route)
    {
        // Nothing after the secret: what is held back comes out when the text ends (Responses: before its *.done).
        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Redact, api, stream, route, new ScriptedTurn { Text = ScriptedTurn.SayingSecret("The key is ", "") });

        MatrixAnswers.AssertNoSecret(answer);
        Assert.That(answer.Text, Is.EqualTo("The key is [REDACTED]"));
        MatrixAnswers.AssertEndedNormally(api, answer, toolCall: false);
    }

    [TestCaseSource(nameof(TextCells))]
    public async Task Post_BlockSecretAtEndOfAnswer_EndsContentFilter(ModelApi api, bool stream, RouteStyle route)
    {
        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Block, api, stream, route, new ScriptedTurn { Text = ScriptedTurn.SayingSecret("The key is ", "") });

        MatrixAnswers.AssertNoSecret(answer);
        Assert.That(answer.Text, Is.EqualTo("The key is "));
        MatrixAnswers.AssertEndedByFilter(api, answer);
    }

    [Test]
    public async Task Post_StreamClientAsksUsage_UsageChunkStillBeforeDone(
        [Values(ModelApi.Chat, ModelApi.Completions)] ModelApi api, [Values(Chain.Redact, Chain.Block)] Chain chain)
    {
        var answer = await MatrixAnswers.SendAsync(
            _backend, chain, api, stream: true, RouteStyle.OpenAI, MatrixTurns.SecretIn(Channel.Text),
            shape: body => body["stream_options"] = new JsonObject { ["include_usage"] = true });

        MatrixAnswers.AssertNoSecret(answer);
        var usage = answer.Events[^2].Json;
        Assert.That(usage["choices"]!.AsArray(), Is.Empty);
        Assert.That(usage["usage"]!["total_tokens"]!.GetValue<int>(), Is.EqualTo(21), "the backend's usage, drained after the policy ended the answer");
        Assert.That(answer.FinishReason, Is.EqualTo(chain == Chain.Block ? "content_filter" : "stop"));
        Assert.That(answer.Events[^1].Data, Is.EqualTo("[DONE]"));
    }

    [TestCaseSource(nameof(ToolApiCells))]
    public async Task Post_RedactScopeTextOnly_TextRedactedToolArgumentsUntouched(ModelApi api, bool stream, RouteStyle route)
    {
        var turn = new ScriptedTurn { Text = ScriptedTurn.SayingSecret("The key is ", " and that is all."), Call = MatrixTurns.SecretCall() };

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.RedactTextOnly, api, stream, route, turn);

        Assert.That(answer.Text, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(answer.Calls.Single().Arguments, Is.EqualTo(MatrixTurns.SecretCall().Arguments), "arguments are out of scope");
        MatrixAnswers.AssertEndedNormally(api, answer, toolCall: true);
    }

    [TestCaseSource(nameof(ToolApiCells))]
    public async Task Post_RedactScopeTextOnly_RefusalUntouched(ModelApi api, bool stream, RouteStyle route)
    {
        BackendKinds.AssumeRawWire(_backend, RefusalWhy);
        var answer = await MatrixAnswers.SendAsync(_backend, Chain.RedactTextOnly, api, stream, route, MatrixTurns.SecretIn(Channel.Refusal));

        Assert.That(answer.Refusal, Is.EqualTo(Expected(Channel.Refusal, redacted: false)));
    }

    [TestCaseSource(nameof(ChannelCells))]
    public async Task Post_RedactAndModelSaysNoSecret_AnswerUnchanged(ModelApi api, bool stream, RouteStyle route, Channel channel)
    {
        BackendKinds.AssumeRawWire(_backend, MatrixAnswers.NotByteForByte);
        var turn = MatrixTurns.SecretIn(channel);
        turn = channel switch
        {
            Channel.Text => turn with { Text = ["Nothing ", "secret ", "here."] },
            Channel.Refusal => turn with { Refusal = ["I can't ", "help."] },
            Channel.Reasoning => turn with { Reasoning = ["Just ", "thinking."] },
            _ => turn with { Call = new ScriptedCall("get_weather", "{\"city\":", "\"Paris\"}") },
        };

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.Redact, api, stream, route, turn);

        MatrixAnswers.AssertAsBackendSent(api, stream, turn, answer);
    }

    internal static IReadOnlyList<Channel> ChannelsOf(ModelApi api) => api switch
    {
        ModelApi.Chat => [Channel.Text, Channel.Refusal, Channel.ToolArguments],
        ModelApi.Responses => [Channel.Text, Channel.Refusal, Channel.ToolArguments, Channel.Reasoning],
        _ => [Channel.Text],
    };

    private static string Expected(Channel channel, bool redacted)
    {
        var secret = redacted ? "[REDACTED]" : ScriptedTurn.Secret;
        return channel switch
        {
            Channel.Text => $"The key is {secret} and that is all.",
            Channel.Refusal => $"I can't share {secret} and that is all.",
            Channel.Reasoning => $"The user wants {secret} and that is all.",
            _ => $$"""{"city":"Paris","token":"{{secret}}","unit":"C"}""",
        };
    }

    private static string Said(WireAnswer answer, Channel channel) => channel switch
    {
        Channel.Text => answer.Text,
        Channel.Refusal => answer.Refusal,
        Channel.Reasoning => answer.Reasoning,
        _ => answer.Calls.Single().Arguments,
    };
}
