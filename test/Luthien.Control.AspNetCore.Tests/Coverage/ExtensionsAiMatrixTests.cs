using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI.Responses;

// OpenAI marks its Responses client experimental; it is one of the two clients this class puts IChatClient over.
#pragma warning disable OPENAI001

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>Which OpenAI client an <see cref="IChatClient"/> is put over.</summary>
public enum InnerClient
{
    /// <summary><c>ChatClient.AsIChatClient()</c> (chat completions).</summary>
    Chat,

    /// <summary><c>ResponsesClient.AsIChatClient()</c> (Responses API).</summary>
    Responses,
}

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over OpenAI's ChatClient and ResponsesClient, in front of the app,
/// with <see cref="IChatClient.GetResponseAsync"/> and <see cref="IChatClient.GetStreamingResponseAsync"/>: the app sees
/// the redacted text, a content-filter end on a block, and never a refused function call.
/// </summary>
/// <remarks>
/// <para>
/// Streaming over ResponsesClient goes through Microsoft.Extensions.AI.OpenAI's own conversion of the client's updates
/// (<c>AsChatResponseUpdatesAsync</c>, the code its IChatClient runs) rather than its IChatClient: 10.11.0 is built
/// against OpenAI 2.14, whose <c>CreateResponseStreamingAsync</c> returns <c>AsyncCollectionResult</c>; on the OpenAI
/// 2.15 these tests run it returns <c>Task&lt;AsyncStreamingResult&gt;</c>, and the IChatClient fails with
/// <c>MissingMethodException</c> before any request is sent — a mismatch of those two packages, not of the app.
/// </para>
/// <para>
/// Microsoft.Extensions.AI sets <see cref="ChatResponse.FinishReason"/> from a streamed Responses answer only at its
/// <c>response.completed</c>; a streamed <c>response.incomplete</c> (OpenAI's end of a filtered answer, and ours) leaves
/// it unset, and the reason is on the last update's raw representation. Buffered, it maps <c>content_filter</c>.
/// </para>
/// </remarks>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class ExtensionsAiMatrixTests(BackendKind backend)
{
    private readonly BackendKind _backend = backend;

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [Test]
    public async Task GetResponse_Redact_AppSeesReplacement([Values] InnerClient inner, [Values] bool streaming)
    {
        var response = await RespondAsync(Chain.Redact, MatrixTurns.SecretIn(Channel.Text), inner, streaming);

        Assert.That(response.Text, Is.EqualTo("The key is [REDACTED] and that is all."));
        // Microsoft.Extensions.AI gives a buffered Responses answer a finish reason only when it is incomplete.
        Assert.That(response.FinishReason, inner == InnerClient.Responses && !streaming ? Is.Null : Is.EqualTo(ChatFinishReason.Stop));
        AssertNoSecretAnywhere(response);
    }

    [Test]
    public async Task GetResponse_RedactInToolArguments_AppSeesRedactedArguments([Values] InnerClient inner, [Values] bool streaming)
    {
        var response = await RespondAsync(Chain.Redact, MatrixTurns.SecretIn(Channel.ToolArguments), inner, streaming);

        var call = Calls(response).Single();
        Assert.That(call.Name, Is.EqualTo("get_weather"));
        Assert.That(call.Arguments!["token"]?.ToString(), Is.EqualTo("[REDACTED]"));
        Assert.That(call.Arguments!["city"]?.ToString(), Is.EqualTo("Paris"));
        AssertNoSecretAnywhere(response);
    }

    [Test]
    public async Task GetResponse_Block_ContentFilter([Values] InnerClient inner, [Values] bool streaming)
    {
        var response = await RespondAsync(Chain.Block, MatrixTurns.SecretIn(Channel.Text), inner, streaming);

        Assert.That(FinishReason(response), Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Text, Is.EqualTo("The key is "));
        AssertNoSecretAnywhere(response);
    }

    [Test]
    public async Task GetResponse_ToolNotAllowed_NoFunctionCallReachesTheApp(
        [Values] InnerClient inner, [Values] bool streaming, [Values("tool not allowed", "arguments blocked")] string refused)
    {
        var turn = refused == "tool not allowed" ? MatrixTurns.DisallowedCall : MatrixTurns.BlockedArguments;

        var response = await RespondAsync(Chain.ToolCalls, turn, inner, streaming);

        Assert.That(Calls(response), Is.Empty);
        Assert.That(FinishReason(response), Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(response.Text, Is.EqualTo("Let me look."));
    }

    [Test]
    public async Task GetResponse_AllowedTool_AppGetsTheFunctionCall([Values] InnerClient inner, [Values] bool streaming)
    {
        var response = await RespondAsync(Chain.ToolCalls, MatrixTurns.AllowedCall, inner, streaming);

        var call = Calls(response).Single();
        Assert.That(call.Name, Is.EqualTo("get_weather"));
        Assert.That(call.CallId, Is.EqualTo(ScriptedModel.CallId));
        Assert.That(call.Arguments!["city"]?.ToString(), Is.EqualTo("Paris"));
    }

    /// <summary>
    /// The finish reason the app sees: <see cref="ChatResponse.FinishReason"/>, or for a streamed Responses answer
    /// that ended <c>response.incomplete</c> (see the remarks) the reason on that update's raw representation.
    /// </summary>
    private static ChatFinishReason? FinishReason(ChatResponse response)
    {
        if (response.FinishReason is { } reason)
        {
            return reason;
        }

        var last = (response.RawRepresentation as IReadOnlyList<ChatResponseUpdate>)?[^1].RawRepresentation;
        return last is StreamingResponseIncompleteUpdate { Response.IncompleteStatusDetails.Reason: { } incomplete } && incomplete == ResponseIncompleteStatusReason.ContentFilter
            ? ChatFinishReason.ContentFilter
            : null;
    }

    private static List<FunctionCallContent> Calls(ChatResponse response) =>
        [.. response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()];

    /// <summary>Not in any content's text or in the raw representations the app could look at.</summary>
    private static void AssertNoSecretAnywhere(ChatResponse response)
    {
        var everything = string.Concat(
            response.Messages.SelectMany(m => m.Contents).Select(c => c switch
            {
                TextContent t => t.Text,
                TextReasoningContent r => r.Text,
                FunctionCallContent f => string.Join(",", f.Arguments?.Values.Select(v => v?.ToString()) ?? []),
                _ => "",
            }));
        foreach (var fragment in ScriptedTurn.SecretFragments)
        {
            Assert.That(everything, Does.Not.Contain(fragment));
        }
    }

    private async Task<ChatResponse> RespondAsync(Chain chain, ScriptedTurn turn, InnerClient inner, bool streaming)
    {
        BackendKinds.AssumeServes(_backend, inner == InnerClient.Chat ? ModelApi.Chat : ModelApi.Responses);
        var app = await CoverageHosts.GetAsync(chain, _backend);
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(turn);
        var openAi = OpenAiClientMatrixTests.Client(app);
        using IChatClient client = inner == InnerClient.Chat
            ? openAi.GetChatClient("gpt-4o").AsIChatClient()
            : openAi.GetResponsesClient().AsIChatClient("gpt-4o");
        List<ChatMessage> messages = [new(ChatRole.User, "hi")];
        if (!streaming)
        {
            return await client.GetResponseAsync(messages);
        }

        IAsyncEnumerable<ChatResponseUpdate> stream;
        if (inner == InnerClient.Chat)
        {
            stream = client.GetStreamingResponseAsync(messages);
        }
        else
        {
            var options = new CreateResponseOptions("gpt-4o", [.. messages.AsOpenAIResponseItems()]) { StreamingEnabled = true };
            stream = (await openAi.GetResponsesClient().CreateResponseStreamingAsync(options)).AsChatResponseUpdatesAsync(options);
        }

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in stream)
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        response.RawRepresentation = updates;
        return response;
    }
}
