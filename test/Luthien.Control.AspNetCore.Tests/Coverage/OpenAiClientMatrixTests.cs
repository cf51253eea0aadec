using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Responses;

// OpenAI marks its Responses types experimental; they are the client whose parsing this class checks.
#pragma warning disable OPENAI001

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>
/// The official OpenAI .NET client (ChatClient, ResponsesClient) in front of the app, buffered and streaming, by the
/// OpenAI route and Azure's <c>/openai/v1</c>: it parses every event the app writes (merged, renumbered and synthesized
/// ones included) and exposes the redacted text, the content-filter end and no refused call.
/// </summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class OpenAiClientMatrixTests(BackendKind backend)
{
    private readonly BackendKind _backend = backend;

    private static readonly string[] Roots = ["/v1", "/openai/v1"];

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [Test]
    public async Task CompleteChat_Redact_ClientShowsReplacement([Values] bool streaming, [ValueSource(nameof(Roots))] string root)
    {
        var chat = await ChatAsync(Chain.Redact, MatrixTurns.SecretIn(Channel.Text), streaming, root);

        Assert.That(chat.Text, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(chat.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
    }

    [Test]
    public async Task CompleteChat_RedactInToolArguments_ClientShowsRedactedArguments([Values] bool streaming)
    {
        var chat = await ChatAsync(Chain.Redact, MatrixTurns.SecretIn(Channel.ToolArguments), streaming, "/v1");

        Assert.That(chat.Calls.Single(), Is.EqualTo(("get_weather", """{"city":"Paris","token":"[REDACTED]","unit":"C"}""")));
        Assert.That(chat.FinishReason, Is.EqualTo(ChatFinishReason.ToolCalls));
    }

    [Test]
    public async Task CompleteChat_Block_ClientSeesContentFilter([Values] bool streaming, [ValueSource(nameof(Roots))] string root)
    {
        var chat = await ChatAsync(Chain.Block, MatrixTurns.SecretIn(Channel.Text), streaming, root);

        Assert.That(chat.Text, Is.EqualTo("The key is "));
        Assert.That(chat.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task CompleteChat_ToolNotAllowed_NoToolCallAndContentFilter([Values] bool streaming, [ValueSource(nameof(Roots))] string root)
    {
        var chat = await ChatAsync(Chain.ToolCalls, MatrixTurns.DisallowedCall, streaming, root);

        Assert.That(chat.Calls, Is.Empty);
        Assert.That(chat.Text, Is.EqualTo("Let me look."));
        Assert.That(chat.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task CompleteChat_AllowedTool_ClientGetsTheCall([Values] bool streaming)
    {
        var chat = await ChatAsync(Chain.ToolCalls, MatrixTurns.AllowedCall, streaming, "/v1");

        Assert.That(chat.Calls.Single(), Is.EqualTo(("get_weather", """{"city":"Paris"}""")));
        Assert.That(chat.FinishReason, Is.EqualTo(ChatFinishReason.ToolCalls));
    }

    [Test]
    public async Task CreateResponse_Redact_ClientShowsReplacementEverywhere(
        [Values] bool streaming, [ValueSource(nameof(Roots))] string root, [Values(Channel.Text, Channel.ToolArguments, Channel.Reasoning, Channel.Refusal)] Channel channel)
    {
        var response = await RespondAsync(Chain.Redact, MatrixTurns.SecretIn(channel), streaming, root);

        Assert.That(response.Result.Status, Is.EqualTo(ResponseStatus.Completed));
        var shown = channel switch
        {
            Channel.Text => response.Result.GetOutputText(),
            Channel.Refusal => string.Concat(response.Result.OutputItems.OfType<MessageResponseItem>().SelectMany(m => m.Content).Select(p => p.Refusal)),
            Channel.Reasoning => string.Concat(response.Result.OutputItems.OfType<ReasoningResponseItem>().SelectMany(r => r.SummaryParts).OfType<ReasoningSummaryTextPart>().Select(p => p.Text)),
            _ => response.Result.OutputItems.OfType<FunctionCallResponseItem>().Single().FunctionArguments.ToString(),
        };
        Assert.That(shown, Does.Contain("[REDACTED]").And.Not.Contain("Zq7Xw2Lm9R"));
        if (streaming)
        {
            Assert.That(response.Deltas[channel], Is.EqualTo(channel switch
            {
                Channel.Text => "The key is [REDACTED] and that is all.",
                Channel.Refusal => "I can't share [REDACTED] and that is all.",
                Channel.Reasoning => "The user wants [REDACTED] and that is all.",
                _ => """{"city":"Paris","token":"[REDACTED]","unit":"C"}""",
            }));
        }
    }

    [Test]
    public async Task CreateResponse_Block_ClientSeesIncompleteContentFilter([Values] bool streaming, [ValueSource(nameof(Roots))] string root)
    {
        var response = await RespondAsync(Chain.Block, MatrixTurns.SecretIn(Channel.Text), streaming, root);

        Assert.That(response.Result.Status, Is.EqualTo(ResponseStatus.Incomplete));
        Assert.That(response.Result.IncompleteStatusDetails?.Reason, Is.EqualTo(ResponseIncompleteStatusReason.ContentFilter));
        Assert.That(response.Result.GetOutputText(), Is.EqualTo("The key is "));
        Assert.That(response.Last, streaming ? Is.InstanceOf<StreamingResponseIncompleteUpdate>() : Is.Null);
    }

    [Test]
    public async Task CreateResponse_ToolNotAllowed_NoFunctionCallItemAndIncomplete(
        [Values] bool streaming, [ValueSource(nameof(Roots))] string root, [Values("tool not allowed", "arguments blocked")] string refused)
    {
        var turn = refused == "tool not allowed" ? MatrixTurns.DisallowedCall : MatrixTurns.BlockedArguments;

        var response = await RespondAsync(Chain.ToolCalls, turn, streaming, root);

        Assert.That(response.Result.OutputItems.OfType<FunctionCallResponseItem>(), Is.Empty);
        Assert.That(response.ItemsAdded.OfType<FunctionCallResponseItem>(), Is.Empty, "no output_item.added of the call");
        Assert.That(response.Result.Status, Is.EqualTo(ResponseStatus.Incomplete));
        Assert.That(response.Result.IncompleteStatusDetails?.Reason, Is.EqualTo(ResponseIncompleteStatusReason.ContentFilter));
        Assert.That(response.Result.GetOutputText(), Is.EqualTo("Let me look."));
    }

    [Test]
    public async Task CreateResponse_AllowedTool_ClientGetsTheFunctionCall([Values] bool streaming)
    {
        var response = await RespondAsync(Chain.ToolCalls, MatrixTurns.AllowedCall, streaming, "/v1");

        var call = response.Result.OutputItems.OfType<FunctionCallResponseItem>().Single();
        Assert.That(call.FunctionName, Is.EqualTo("get_weather"));
        Assert.That(call.FunctionArguments.ToString(), Is.EqualTo("""{"city":"Paris"}"""));
        Assert.That(response.Result.Status, Is.EqualTo(ResponseStatus.Completed));
    }

    internal static OpenAIClient Client(LuthienTestHost app, string root = "/v1")
    {
        var http = app.CreateClient();
        return new OpenAIClient(new ApiKeyCredential(CoverageHosts.ClientKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, root),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
        });
    }

    private async Task<(string Text, ChatFinishReason? FinishReason, List<(string Name, string Arguments)> Calls)> ChatAsync(
        Chain chain, ScriptedTurn turn, bool streaming, string root)
    {
        var app = await CoverageHosts.GetAsync(chain, _backend);
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(turn);
        var client = Client(app, root).GetChatClient("gpt-4o");
        List<ChatMessage> messages = [new UserChatMessage("hi")];
        if (!streaming)
        {
            ChatCompletion completion = await client.CompleteChatAsync(messages);
            return (
                string.Concat(completion.Content.Select(p => p.Text)),
                completion.FinishReason,
                [.. completion.ToolCalls.Select(c => (c.FunctionName, c.FunctionArguments.ToString()))]);
        }

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        var calls = new SortedDictionary<int, (StringBuilder Name, StringBuilder Arguments)>();
        await foreach (var update in client.CompleteChatStreamingAsync(messages))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish = update.FinishReason ?? finish;
            foreach (var call in update.ToolCallUpdates)
            {
                if (!calls.TryGetValue(call.Index, out var known))
                {
                    calls[call.Index] = known = (new StringBuilder(), new StringBuilder());
                }

                known.Name.Append(call.FunctionName);
                known.Arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
        }

        return (text.ToString(), finish, [.. calls.Values.Select(c => (c.Name.ToString(), c.Arguments.ToString()))]);
    }

    private async Task<ClientResponse> RespondAsync(Chain chain, ScriptedTurn turn, bool streaming, string root)
    {
        BackendKinds.AssumeServes(_backend, ModelApi.Responses);
        var app = await CoverageHosts.GetAsync(chain, _backend);
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(turn);
        var client = Client(app, root).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4o", [ResponseItem.CreateUserMessageItem("hi")]);
        if (!streaming)
        {
            ResponseResult result = await client.CreateResponseAsync(options);
            return new ClientResponse(result, new Dictionary<Channel, string>(), [], null);
        }

        options.StreamingEnabled = true;
        var deltas = Enum.GetValues<Channel>().ToDictionary(c => c, _ => new StringBuilder());
        var added = new List<ResponseItem>();
        var updates = new List<StreamingResponseUpdate>();
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
        {
            updates.Add(update);
            switch (update)
            {
                case StreamingResponseOutputTextDeltaUpdate d:
                    deltas[Channel.Text].Append(d.Delta);
                    break;
                case StreamingResponseRefusalDeltaUpdate d:
                    deltas[Channel.Refusal].Append(d.Delta);
                    break;
                case StreamingResponseReasoningSummaryTextDeltaUpdate d:
                    deltas[Channel.Reasoning].Append(d.Delta);
                    break;
                case StreamingResponseFunctionCallArgumentsDeltaUpdate d:
                    deltas[Channel.ToolArguments].Append(d.Delta.ToString());
                    break;
                case StreamingResponseOutputItemAddedUpdate a:
                    added.Add(a.Item);
                    break;
            }
        }

        Assert.That(updates.Select(u => u.SequenceNumber), Is.EqualTo(Enumerable.Range(0, updates.Count)), "every event parsed, numbered without gaps");
        var result2 = updates[^1] switch
        {
            StreamingResponseCompletedUpdate c => c.Response,
            StreamingResponseIncompleteUpdate i => i.Response,
            var other => throw new AssertionException($"the stream ended with {other.GetType().Name}"),
        };
        return new ClientResponse(result2, deltas.ToDictionary(d => d.Key, d => d.Value.ToString()), added, updates[^1]);
    }

    /// <summary>What the Responses client exposed: the final response, what the deltas of each channel said, the items added, the last update.</summary>
    private sealed record ClientResponse(ResponseResult Result, Dictionary<Channel, string> Deltas, List<ResponseItem> ItemsAdded, StreamingResponseUpdate? Last);
}
