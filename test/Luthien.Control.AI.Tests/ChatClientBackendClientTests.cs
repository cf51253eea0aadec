using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Luthien.Control.AI.Tests;

/// <summary>
/// The endpoints' IChatClient backend on its own: what it asks the chat client, what it makes of the answer, and how
/// its timeouts, the client's cancellation and the chat client's failures come out.
/// </summary>
public class ChatClientBackendClientTests
{
    private const string ChatBody = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""";
    private const string StreamBody = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""";
    private const string StreamWithUsageBody = """{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1700000000));
    private ScriptedChatClient _inner = null!;
    private ChatClientBackendClient _backend = null!;

    [SetUp]
    public void SetUp()
    {
        _inner = new ScriptedChatClient();
        var options = Substitute.For<IOptionsMonitor<LuthienOptions>>();
        options.CurrentValue.Returns(new LuthienOptions { Timeouts = { FirstChunkSeconds = 60, IdleSeconds = 30 } });
        _backend = new ChatClientBackendClient(_inner, ownsInner: true, options, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    [TearDown]
    public void TearDown()
    {
        _backend.Dispose();
        _inner.Dispose();
    }

    private static Transaction Chat(string body, RequestKind kind = RequestKind.ChatCompletion, CancellationToken cancellationToken = default) =>
        new(TransactionRequest.Create(kind, JsonNode.Parse(body)!.AsObject()), cancellationToken: cancellationToken);

    private static ChatResponseUpdate Text(string text) => new(ChatRole.Assistant, text) { ResponseId = "chatcmpl-1", ModelId = "gpt-4o" };

    private static async Task<List<JsonObject>> ReadAllAsync(Transaction transaction, CancellationToken cancellationToken = default)
    {
        var chunks = new List<JsonObject>();
        await foreach (var chunk in transaction.Response.Stream!.WithCancellation(cancellationToken))
        {
            chunks.Add(JsonNode.Parse(System.Text.Encoding.UTF8.GetString(chunk.Data.Span))!.AsObject());
            chunk.Release();
        }

        return chunks;
    }

    /// <summary>
    /// Lets <paramref name="timeout"/> all but pass on the fake clock (no failure yet), then pass: the wait must then
    /// fail with 504 <c>backend_timeout</c> saying what was not sent in time.
    /// </summary>
    private async Task AssertTimesOutAfterAsync(Task wait, TimeSpan timeout, string notSent)
    {
        _time.Advance(timeout - TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        Assert.That(wait.IsCompleted, Is.False, "not before the timeout");
        _time.Advance(TimeSpan.FromSeconds(2));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await wait);
        Assert.That(ex!.Code, Is.EqualTo("backend_timeout"));
        Assert.That(ex.Message, Does.Contain(notSent));
    }

    [Test]
    public async Task SendAsync_Buffered_AnswerIsAChatCompletion()
    {
        _inner.Answer = new ChatResponse(new ChatMessage(ChatRole.Assistant, "Hello"))
        {
            ResponseId = "chatcmpl-1",
            ModelId = "gpt-4o",
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 1, TotalTokenCount = 4 },
        };
        var transaction = Chat(ChatBody);

        await _backend.SendAsync(transaction, CancellationToken.None);

        var completion = transaction.Response.Payload!;
        Assert.That(transaction.Response.StatusCode, Is.EqualTo(200));
        Assert.That(completion["object"]!.GetValue<string>(), Is.EqualTo("chat.completion"));
        Assert.That(completion["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("Hello"));
        Assert.That(completion["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("stop"));
        Assert.That(completion["usage"]!["total_tokens"]!.GetValue<long>(), Is.EqualTo(4));
    }

    [Test]
    public async Task SendAsync_Request_ChatClientGetsMessagesAndOptions()
    {
        var transaction = Chat("""{"model":"gpt-4o","temperature":0.5,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}""");
        transaction.Request.Model = "mapped-by-a-policy";

        await _backend.SendAsync(transaction, CancellationToken.None);

        Assert.That(_inner.Messages.Select(m => (m.Role, m.Text)), Is.EqualTo(new[] { (ChatRole.System, "be brief"), (ChatRole.User, "hi") }));
        Assert.That(_inner.Options!.ModelId, Is.EqualTo("mapped-by-a-policy"));
        Assert.That(_inner.Options.Temperature, Is.EqualTo(0.5f));
    }

    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "Responses API")]
    [TestCase(RequestKind.Completion, """{"model":"gpt-4o","prompt":"hi"}""", "Legacy completions")]
    public void SendAsync_OtherApi_404NamingTheSettingAndChatClientNeverCalled(RequestKind kind, string body, string named)
    {
        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () => await _backend.SendAsync(Chat(body, kind), CancellationToken.None));

        Assert.That(ex!.StatusCode, Is.EqualTo(404));
        Assert.That(ex.Code, Is.EqualTo("not_found"));
        Assert.That(ex.Message, Does.Contain(named).And.Contain("UseChatClientBackend"));
        Assert.That(_inner.Calls, Is.Zero);
    }

    [Test]
    public void SendAsync_MoreThanOneChoice_400NamingN()
    {
        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () =>
            await _backend.SendAsync(Chat("""{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"hi"}]}"""), CancellationToken.None));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Param, Is.EqualTo("n"));
        Assert.That(_inner.Calls, Is.Zero);
    }

    [Test]
    public void SendAsync_ChatClientThrows_502BackendUnavailable()
    {
        _inner.Failure = new InvalidOperationException("connection refused, key sk-abcdefghijklmnopqrstuvwx");

        var ex = Assert.ThrowsAsync<BackendException>(async () => await _backend.SendAsync(Chat(ChatBody), CancellationToken.None));

        Assert.That(ex!.StatusCode, Is.EqualTo(502));
        Assert.That(ex.Code, Is.EqualTo("backend_unavailable"));
        Assert.That(ex.Message, Does.Not.Contain("sk-"), "the chat client's message is logged, never shown");
    }

    [Test]
    public void SendAsync_ChatClientTimesOutItself_504BackendTimeout()
    {
        _inner.Failure = new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout.", new TimeoutException());

        var ex = Assert.ThrowsAsync<BackendException>(async () => await _backend.SendAsync(Chat(ChatBody), CancellationToken.None));

        Assert.That(ex!.StatusCode, Is.EqualTo(504));
        Assert.That(ex.Code, Is.EqualTo("backend_timeout"));
    }

    [Test]
    public void SendAsync_ChatClientThrowsControlException_PassesAsItIs()
    {
        var refused = ControlPolicyException.PolicyViolation("refused by an inner pipeline");
        _inner.Failure = refused;

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () => await _backend.SendAsync(Chat(ChatBody), CancellationToken.None));

        Assert.That(ex, Is.SameAs(refused));
    }

    [Test]
    public async Task SendAsync_BufferedSilentPastFirstChunkTimeout_504()
    {
        _inner.Hang = true;

        var sending = _backend.SendAsync(Chat(ChatBody), CancellationToken.None).AsTask();

        await AssertTimesOutAfterAsync(sending, TimeSpan.FromSeconds(60), "a response");
    }

    [Test]
    public async Task SendAsync_BufferedChatClientAnswersWhenTimedOut_504NotTheAnswer()
    {
        _inner.Hang = true;
        _inner.EndQuietlyWhenCancelled = true;

        var sending = _backend.SendAsync(Chat(ChatBody), CancellationToken.None).AsTask();

        await AssertTimesOutAfterAsync(sending, TimeSpan.FromSeconds(60), "a response");
    }

    [Test]
    public async Task SendAsync_BufferedChatClientAnswersWhenClientGoneAway_CancellationPassesOn()
    {
        _inner.Hang = true;
        _inner.EndQuietlyWhenCancelled = true;
        using var client = new CancellationTokenSource();
        var transaction = Chat(ChatBody, cancellationToken: client.Token);

        var sending = _backend.SendAsync(transaction, client.Token).AsTask();
        await _inner.Started.Task;
        await client.CancelAsync();

        Assert.That(async () => await sending, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task SendAsync_BufferedClientGoesAway_ChatClientCancelledAndCancellationPassesOn()
    {
        _inner.Hang = true;
        using var client = new CancellationTokenSource();

        var sending = _backend.SendAsync(Chat(ChatBody), client.Token).AsTask();
        await _inner.Started.Task;
        await client.CancelAsync();

        Assert.That(async () => await sending, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_inner.Token.IsCancellationRequested, Is.True);
    }

    [Test]
    public async Task Stream_Updates_OneChunkEachThenTheFinishReason()
    {
        _inner.Updates = [Text("Hel"), Text("lo"), new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop }];
        var transaction = Chat(StreamBody);

        await _backend.SendAsync(transaction, CancellationToken.None);
        var chunks = await ReadAllAsync(transaction);

        Assert.That(chunks.Select(c => c["choices"]![0]!["delta"]!["content"]?.GetValue<string>()), Is.EqualTo(new[] { "Hel", "lo", null }));
        Assert.That(chunks.Select(c => c["choices"]![0]!["finish_reason"]?.GetValue<string>()), Is.EqualTo(new[] { null, null, "stop" }));
        Assert.That(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct(), Is.EqualTo(new[] { "chatcmpl-1" }));
        Assert.That(chunks.Select(c => c["object"]!.GetValue<string>()).Distinct(), Is.EqualTo(new[] { "chat.completion.chunk" }));
    }

    [Test]
    public async Task SendAsync_BufferedAnswerNamesNoModel_RequestedModel()
    {
        _inner.Answer = new ChatResponse(new ChatMessage(ChatRole.Assistant, "Hello"));
        var transaction = Chat(ChatBody);

        await _backend.SendAsync(transaction, CancellationToken.None);

        Assert.That(transaction.Response.Payload!["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o"));
    }

    [TestCase(null, "gpt-4o")]
    [TestCase("gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]
    public async Task Stream_UpdatesModel_ChunksNameTheAnsweringModelElseTheRequested(string? answering, string expected)
    {
        _inner.Updates = [new ChatResponseUpdate(ChatRole.Assistant, "Hi") { ModelId = answering }, new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop }];
        var transaction = Chat(StreamBody);

        await _backend.SendAsync(transaction, CancellationToken.None);
        var chunks = await ReadAllAsync(transaction);

        Assert.That(chunks.Select(c => c["model"]!.GetValue<string>()), Is.EqualTo(new[] { expected, expected }));
    }

    [Test]
    public async Task Stream_FinishReasonBeforeToolCalls_FinishReasonComesAfterTheCalls()
    {
        // OpenAI's IChatClient: the finish reason (with usage) first, then the calls it gathered from the deltas.
        _inner.Updates =
        [
            Text("Checking."),
            new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { TotalTokenCount = 5 })]) { FinishReason = ChatFinishReason.ToolCalls },
            new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })]),
        ];
        var transaction = Chat(StreamBody);

        await _backend.SendAsync(transaction, CancellationToken.None);
        var chunks = await ReadAllAsync(transaction);

        Assert.That(chunks, Has.Count.EqualTo(3));
        Assert.That(chunks[1]["choices"]![0]!["delta"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("""{"city":"Paris"}"""));
        Assert.That(chunks[1]["choices"]![0]!["finish_reason"], Is.Null);
        Assert.That(chunks[2]["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("tool_calls"));
        Assert.That(chunks.Any(c => c.ContainsKey("usage")), Is.False, "the client did not ask for usage");
    }

    [Test]
    public async Task Stream_RequestAsksUsage_OneUsageChunkLastWithNoChoices()
    {
        _inner.Updates =
        [
            Text("x"),
            new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 3, OutputTokenCount = 1, TotalTokenCount = 4 })]) { FinishReason = ChatFinishReason.Stop },
        ];
        var transaction = Chat(StreamWithUsageBody);

        await _backend.SendAsync(transaction, CancellationToken.None);
        var chunks = await ReadAllAsync(transaction);

        Assert.That(chunks, Has.Count.EqualTo(3));
        Assert.That(chunks[1]["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("stop"));
        Assert.That(chunks[2]["choices"]!.AsArray(), Is.Empty);
        Assert.That(chunks[2]["usage"]!["total_tokens"]!.GetValue<int>(), Is.EqualTo(4));
        Assert.That(chunks.Take(2).Any(c => c.ContainsKey("usage")), Is.False, "usage only in its own chunk");
    }

    [Test]
    public async Task Stream_LibraryAskedForUsage_UsageChunkWrittenForTheUsageStepToHide()
    {
        _inner.Updates = [Text("x"), new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { TotalTokenCount = 4 })])];
        var transaction = Chat(StreamBody);
        StreamUsage.Ask(transaction.Request);

        await _backend.SendAsync(transaction, CancellationToken.None);
        var chunks = await ReadAllAsync(transaction);

        Assert.That(transaction.Request.AsksUsageClientDidNot, Is.True);
        Assert.That(chunks[^1]["usage"]!["total_tokens"]!.GetValue<int>(), Is.EqualTo(4));
        Assert.That(chunks[^1]["choices"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task Stream_ChatClientThrowsBeforeFirstUpdate_502BackendUnavailable()
    {
        _inner.Failure = new HttpRequestException("connection refused");
        var transaction = Chat(StreamBody);

        await _backend.SendAsync(transaction, CancellationToken.None);

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ReadAllAsync(transaction));
        Assert.That(ex!.Code, Is.EqualTo("backend_unavailable"));
        Assert.That(ex.Message, Does.Contain("could not be reached"));
    }

    [Test]
    public async Task Stream_ChatClientThrowsMidStream_BackendUnavailableBrokeOff()
    {
        _inner.Updates = [Text("partial ")];
        _inner.FailureAfterUpdates = new IOException("connection reset");
        var transaction = Chat(StreamBody);
        await _backend.SendAsync(transaction, CancellationToken.None);
        var read = new List<string>();

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
        {
            await foreach (var chunk in transaction.Response.Stream!)
            {
                read.Add(System.Text.Encoding.UTF8.GetString(chunk.Data.Span));
            }
        });

        Assert.That(read, Has.Count.EqualTo(1));
        Assert.That(ex!.Code, Is.EqualTo("backend_unavailable"));
        Assert.That(ex.Message, Does.Contain("broke off"));
    }

    [Test]
    public async Task Stream_SilentBeforeFirstUpdate_TimesOutAfterFirstChunkSeconds()
    {
        _inner.Hang = true;
        var transaction = Chat(StreamBody);
        await _backend.SendAsync(transaction, CancellationToken.None);

        await using var chunks = transaction.Response.Stream!.GetAsyncEnumerator();
        var next = chunks.MoveNextAsync().AsTask();
        await _inner.Started.Task;

        await AssertTimesOutAfterAsync(next, TimeSpan.FromSeconds(60), "a response");
    }

    [Test]
    public async Task Stream_SilentBetweenUpdates_TimesOutAfterIdleSeconds()
    {
        _inner.Updates = [Text("first")];
        _inner.HangAfterUpdates = true;
        var transaction = Chat(StreamBody);
        await _backend.SendAsync(transaction, CancellationToken.None);

        await using var chunks = transaction.Response.Stream!.GetAsyncEnumerator();
        Assert.That(await chunks.MoveNextAsync(), Is.True);

        // The idle clock runs only while the chat client is awaited: time spent by the consumer does not count.
        _time.Advance(TimeSpan.FromSeconds(45));
        var next = chunks.MoveNextAsync().AsTask();

        await AssertTimesOutAfterAsync(next, TimeSpan.FromSeconds(30), "the next chunk");
    }

    [Test]
    public async Task Stream_ChatClientEndsQuietlyWhenIdleTimedOut_504NotAnEndedStream()
    {
        _inner.Updates = [Text("first")];
        _inner.HangAfterUpdates = true;
        _inner.EndQuietlyWhenCancelled = true;
        var transaction = Chat(StreamBody);
        await _backend.SendAsync(transaction, CancellationToken.None);

        await using var chunks = transaction.Response.Stream!.GetAsyncEnumerator();
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        var next = chunks.MoveNextAsync().AsTask();

        await AssertTimesOutAfterAsync(next, TimeSpan.FromSeconds(30), "the next chunk");
    }

    [Test]
    public async Task SendAsync_BufferedChatClientIgnoresItsToken_504AtTheDeadline()
    {
        _inner.Hang = true;
        _inner.IgnoreToken = true;

        var sending = _backend.SendAsync(Chat(ChatBody), CancellationToken.None).AsTask();

        await AssertTimesOutAfterAsync(sending, TimeSpan.FromSeconds(60), "a response");
        _inner.Release.TrySetResult();
    }

    [Test]
    public async Task Stream_ChatClientIgnoresItsTokenWhenClientGoesAway_ReadEndsAtOnce()
    {
        _inner.Updates = [Text("first")];
        _inner.HangAfterUpdates = true;
        _inner.IgnoreToken = true;
        using var client = new CancellationTokenSource();
        var transaction = Chat(StreamBody, cancellationToken: client.Token);
        await _backend.SendAsync(transaction, client.Token);
        var chunks = transaction.Response.Stream!.GetAsyncEnumerator(client.Token);
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        var next = chunks.MoveNextAsync().AsTask();

        await client.CancelAsync();

        Assert.That(async () => await next.WaitAsync(TimeSpan.FromSeconds(5)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await chunks.DisposeAsync(), Throws.Nothing, "the abandoned call is disposed once it ends, not now");
        _inner.Release.TrySetResult();
    }

    [Test]
    public async Task Stream_ChatClientEndsQuietlyWhenClientGoneAway_CancellationPassesOn()
    {
        _inner.Updates = [Text("first")];
        _inner.HangAfterUpdates = true;
        _inner.EndQuietlyWhenCancelled = true;
        using var client = new CancellationTokenSource();
        var transaction = Chat(StreamBody, cancellationToken: client.Token);
        await _backend.SendAsync(transaction, client.Token);

        await using var chunks = transaction.Response.Stream!.GetAsyncEnumerator(client.Token);
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        var next = chunks.MoveNextAsync().AsTask();
        await client.CancelAsync();

        Assert.That(async () => await next, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Stream_ClientGoesAway_ChatClientCancelledAndCancellationPassesOn()
    {
        _inner.Updates = [Text("first")];
        _inner.HangAfterUpdates = true;
        using var client = new CancellationTokenSource();
        var transaction = Chat(StreamBody, cancellationToken: client.Token);
        await _backend.SendAsync(transaction, client.Token);

        await using var chunks = transaction.Response.Stream!.GetAsyncEnumerator(client.Token);
        Assert.That(await chunks.MoveNextAsync(), Is.True);
        var next = chunks.MoveNextAsync().AsTask();
        await client.CancelAsync();

        Assert.That(async () => await next, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(_inner.Token.IsCancellationRequested, Is.True);
    }

    [Test]
    public void Dispose_OwnedChatClient_Disposed()
    {
        _backend.Dispose();

        Assert.That(_inner.Disposed, Is.True);
    }

    /// <summary>A chat client that answers what a test scripts, and records what it was asked.</summary>
    private sealed class ScriptedChatClient : IChatClient
    {
        public ChatResponse Answer { get; set; } = new(new ChatMessage(ChatRole.Assistant, "ok"));

        public IReadOnlyList<ChatResponseUpdate> Updates { get; set; } = [];

        /// <summary>Thrown instead of answering.</summary>
        public Exception? Failure { get; set; }

        /// <summary>Thrown after <see cref="Updates"/>.</summary>
        public Exception? FailureAfterUpdates { get; set; }

        /// <summary>Never answers (until cancelled).</summary>
        public bool Hang { get; set; }

        /// <summary>A cancelled hang ends the call normally (the answer so far) instead of throwing.</summary>
        public bool EndQuietlyWhenCancelled { get; set; }

        /// <summary>Never ends the stream after <see cref="Updates"/> (until cancelled).</summary>
        public bool HangAfterUpdates { get; set; }

        /// <summary>A hang that ignores its token: it ends only when the test releases it.</summary>
        public bool IgnoreToken { get; set; }

        /// <summary>Ends a hang that ignores its token.</summary>
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls { get; private set; }

        public List<ChatMessage> Messages { get; private set; } = [];

        public ChatOptions? Options { get; private set; }

        public CancellationToken Token { get; private set; }

        public bool Disposed { get; private set; }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            await BeginAsync(messages, options, cancellationToken);
            return Answer;
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await BeginAsync(messages, options, cancellationToken);
            foreach (var update in Updates)
            {
                await Task.Yield();
                yield return update;
            }

            if (FailureAfterUpdates is not null)
            {
                throw FailureAfterUpdates;
            }

            if (HangAfterUpdates)
            {
                await HangAsync(cancellationToken);
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose() => Disposed = true;

        /// <summary>Records the call, then fails or hangs if told to.</summary>
        private async Task BeginAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
        {
            Calls++;
            Messages = [.. messages];
            Options = options;
            Token = cancellationToken;
            Started.TrySetResult();
            if (Failure is not null)
            {
                throw Failure;
            }

            if (Hang)
            {
                await HangAsync(cancellationToken);
            }
        }

        /// <summary>Waits until cancelled; then, if told to, ends as if nothing happened, as some chat clients do.</summary>
        private async Task HangAsync(CancellationToken cancellationToken)
        {
            if (IgnoreToken)
            {
                await Release.Task;
                return;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException) when (EndQuietlyWhenCancelled)
            {
            }
        }
    }
}
