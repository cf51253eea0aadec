using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Azure.AI.OpenAI;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>
/// The Azure.AI.OpenAI client (<c>AzureOpenAIClient</c>, key as <c>api-key</c>) on the deployment route, buffered and
/// streaming, with the response policies: it reads the redacted text, the content-filter end and no refused call.
/// </summary>
/// <remarks>
/// Its protocol methods, answers read with OpenAI's models: Azure.AI.OpenAI 2.1.0's typed chat methods fail on the
/// OpenAI 2.15 these tests run (see <see cref="AzureClientTests"/>), and it has no Responses or legacy completions
/// client; those Azure routes are covered by raw requests and by ResponsesClient on <c>/openai/v1</c>.
/// </remarks>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class AzureClientMatrixTests(BackendKind backend)
{
    private readonly BackendKind _backend = backend;

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [Test]
    public async Task CompleteChat_Redact_ClientShowsReplacement([Values] bool streaming)
    {
        var (text, finish, calls) = await ChatAsync(Chain.Redact, MatrixTurns.SecretIn(Channel.Text), streaming);

        Assert.That(text, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.Stop));
        Assert.That(calls, Is.Empty);
    }

    [Test]
    public async Task CompleteChat_Block_ClientSeesContentFilter([Values] bool streaming)
    {
        var (text, finish, _) = await ChatAsync(Chain.Block, MatrixTurns.SecretIn(Channel.Text), streaming);

        Assert.That(text, Is.EqualTo("The key is "));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task CompleteChat_ToolNotAllowed_NoToolCallAndContentFilter([Values] bool streaming)
    {
        var (text, finish, calls) = await ChatAsync(Chain.ToolCalls, MatrixTurns.DisallowedCall, streaming);

        Assert.That(calls, Is.Empty);
        Assert.That(text, Is.EqualTo("Let me look."));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task CompleteChat_AllowedTool_ClientGetsTheCall([Values] bool streaming)
    {
        var (_, finish, calls) = await ChatAsync(Chain.ToolCalls, MatrixTurns.AllowedCall, streaming);

        Assert.That(calls, Is.EqualTo(new[] { "get_weather({\"city\":\"Paris\"})" }));
        Assert.That(finish, Is.EqualTo(ChatFinishReason.ToolCalls));
    }

    [Test]
    public async Task CompleteChat_WrongKey_401AndBackendNeverCalled()
    {
        var app = await CoverageHosts.GetAsync(Chain.Redact, _backend);

        var ex = Assert.ThrowsAsync<ClientResultException>(async () =>
            await Client(app, "not-the-key").GetChatClient("gpt-4o").CompleteChatAsync(Request(stream: false), new RequestOptions()));

        Assert.That(ex!.Status, Is.EqualTo(401));
        Assert.That(CoverageHosts.Backend.Requests, Is.Empty);
    }

    private async Task<(string Text, ChatFinishReason? Finish, List<string> Calls)> ChatAsync(Chain chain, ScriptedTurn turn, bool streaming)
    {
        var app = await CoverageHosts.GetAsync(chain, _backend);
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(turn);
        var client = Client(app).GetChatClient("gpt-4o");
        var result = await client.CompleteChatAsync(Request(streaming), new RequestOptions { BufferResponse = !streaming });
        Assert.That(CoverageHosts.Backend.Requests.Single().PathAndQuery, Is.EqualTo("/v1/chat/completions"));
        if (!streaming)
        {
            var completion = ModelReaderWriter.Read<ChatCompletion>(result.GetRawResponse().Content)!;
            return (
                string.Concat(completion.Content.Select(p => p.Text)),
                completion.FinishReason,
                [.. completion.ToolCalls.Select(c => $"{c.FunctionName}({c.FunctionArguments})")]);
        }

        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        var names = new StringBuilder();
        var arguments = new StringBuilder();
        var done = 0;
        await foreach (var item in SseParser.Create(result.GetRawResponse().ContentStream!).EnumerateAsync())
        {
            if (item.Data == "[DONE]")
            {
                done++;
                continue;
            }

            var update = ModelReaderWriter.Read<StreamingChatCompletionUpdate>(BinaryData.FromString(item.Data))!;
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish = update.FinishReason ?? finish;
            foreach (var call in update.ToolCallUpdates)
            {
                names.Append(call.FunctionName);
                arguments.Append(call.FunctionArgumentsUpdate?.ToString());
            }
        }

        Assert.That(done, Is.EqualTo(1), "one [DONE]");
        return (text.ToString(), finish, names.Length == 0 ? [] : [$"{names}({arguments})"]);
    }

    /// <summary>A chat body as the Azure client sends it: no model (the deployment in the path names it).</summary>
    private static BinaryContent Request(bool stream) =>
        BinaryContent.Create(BinaryData.FromString(new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
            ["stream"] = stream,
        }.ToJsonString()));

    private static AzureOpenAIClient Client(LuthienTestHost app, string key = CoverageHosts.ClientKey)
    {
        var http = app.CreateClient();
        var options = new AzureOpenAIClientOptions { Transport = new HttpClientPipelineTransport(http), RetryPolicy = new ClientRetryPolicy(0) };
        return new AzureOpenAIClient(http.BaseAddress!, new ApiKeyCredential(key), options);
    }
}
