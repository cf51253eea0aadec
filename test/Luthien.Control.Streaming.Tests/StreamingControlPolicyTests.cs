using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests;

/// <summary>The pipeline order rules for response policies, on both sides of the backend-sending policy.</summary>
public class StreamingControlPolicyTests
{
    [Test]
    public async Task ApplyAsync_StreamOnBothSidesOfSend_PoliciesAfterSendFirstInListOrderThenThoseBeforeInnermostFirst()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var chain = Chain(new StreamBackend(Chunks.Content("x")), out _);

        await chain.RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("x+c+d+b+a"));
    }

    [Test]
    public async Task ApplyAsync_BufferedOnBothSidesOfSend_SameOrderAsStreams()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var chain = Chain(new BufferedBackend("x"), out _);

        await chain.RunAsync(transaction);

        Assert.That(transaction.Response.Payload!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("x+c+d+b+a"));
    }

    [Test]
    public async Task ApplyAsync_NoResponseAfterNext_ResponseWorkIsSkipped()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await new SerialPolicy([new TagPolicy("a")]).RunAsync(transaction);

        Assert.That(transaction.Response.HasValue, Is.False);
    }

    [Test]
    public async Task ApplyAsync_RequestWork_RunsInListOrderBeforeTheBackend()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var backend = new BufferedBackend("x");
        var chain = Chain(backend, out var seen);

        await chain.RunAsync(transaction);

        // a and b act on the request before the backend is called; c and d stand after it.
        Assert.That(seen, Is.EqualTo(new[] { "a", "b", "c", "d" }));
        Assert.That(backend.RequestTagsAtSend, Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task ProcessChunk_PolicyOnTheNeutralView_ServesStreamedAnswers()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("hello "), Chunks.Content("you"), Chunks.Finish()));

        await new ShoutPolicy().RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("HELLO YOU!"));
    }

    [Test]
    public async Task ApplyNonStreaming_PolicyOnTheNeutralView_ServesBufferedAnswersUnchanged()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hello you"},"logprobs":null,"finish_reason":"stop"}],"usage":{"total_tokens":3}}"""u8.ToArray(), "application/json");

        await new ShoutPolicy().RunAsync(transaction);

        Assert.That(System.Text.Encoding.UTF8.GetString(transaction.Response.Body.Span),
            Is.EqualTo("""{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"HELLO YOU!"},"logprobs":null,"finish_reason":"stop"}],"usage":{"total_tokens":3}}"""));
    }

    [Test]
    public async Task ApplyNonStreaming_PolicyDropsTheAnswer_TextRemoved()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"secret"},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await new DropAllPolicy().RunAsync(transaction);

        Assert.That(transaction.Response.Payload!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.Empty);
    }

    [Test]
    public async Task ApplyNonStreaming_PolicyReadsTheChunksBytesAfterItsChange_ChangeIsKept()
    {
        // Reading Data writes the change into the bytes; the buffered answer must still be the changed one.
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"secret"},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await new ReplaceThenMeasurePolicy().RunAsync(transaction);

        Assert.That(transaction.Response.Payload!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("[X]"));
        Assert.That(System.Text.Encoding.UTF8.GetString(transaction.Response.Body.Span), Does.Not.Contain("secret"));
    }

    /// <summary>Replaces every text, then reads the chunk's size as it will be written.</summary>
    private sealed class ReplaceThenMeasurePolicy : StreamingControlPolicy
    {
        public int Size { get; private set; }

        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            foreach (var output in chunk.Output)
            {
                if (output.Kind == OutputKind.Text)
                {
                    output.Text = "[X]";
                }
            }

            Size += chunk.Data.Length;
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Written only on the neutral view: upper-cases text and adds "!" before each slot's end.</summary>
    private sealed class ShoutPolicy : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            var count = chunk.Output.Count;
            for (var i = 0; i < count; i++)
            {
                var output = chunk.Output[i];
                if (output.Kind == OutputKind.Text)
                {
                    output.Text = output.Text.ToUpperInvariant();
                }
                else if (output.Kind == OutputKind.Finish)
                {
                    chunk.Add(OutputEvent.CreateText(output.Slot, "!"));
                    i++;
                    count++;
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Emits nothing.</summary>
    private sealed class DropAllPolicy : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>[a, b, SendBackendRequest, c, d]: each tags the text it passes on and records the request.</summary>
    private static SerialPolicy Chain(IRecordingBackend backend, out List<string> seen)
    {
        var log = new List<string>();
        seen = log;
        return new SerialPolicy([new TagPolicy("a", log), new TagPolicy("b", log), new SendBackendRequestPolicy(backend), new TagPolicy("c", log), new TagPolicy("d", log)]);
    }

    private interface IRecordingBackend : IBackendClient
    {
        List<string> RequestTagsAtSend { get; }
    }

    private static readonly TransactionKey<List<string>> RequestTags = new("test.request_tags");

    private sealed class TagPolicy(string tag, List<string>? log = null) : StreamingControlPolicy
    {
        protected override ValueTask ApplyRequestAsync(Transaction transaction, CancellationToken cancellationToken)
        {
            log?.Add(tag);
            var tags = transaction.Data.GetOrDefault(RequestTags, null!) ?? [];
            tags.Add(tag);
            transaction.Data.Set(RequestTags, tags);
            return ValueTask.CompletedTask;
        }

        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            // On the neutral view, so the same method tags streamed and buffered answers.
            foreach (var output in chunk.Output)
            {
                if (output.Kind == OutputKind.Text && output.Text.Length > 0)
                {
                    output.Text += "+" + tag;
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class StreamBackend(params string[] chunks) : IRecordingBackend
    {
        public List<string> RequestTagsAtSend { get; } = [];

        public ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
        {
            RequestTagsAtSend.AddRange(transaction.Data.GetOrDefault(RequestTags, null!) ?? []);
            transaction.Response.SetStream(200, new ListStreamingIterator(chunks));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class BufferedBackend(string text) : IRecordingBackend
    {
        public List<string> RequestTagsAtSend { get; } = [];

        public ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
        {
            RequestTagsAtSend.AddRange(transaction.Data.GetOrDefault(RequestTags, null!) ?? []);
            var body = new JsonObject { ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text } }) };
            transaction.Response.SetJson(200, body);
            return ValueTask.CompletedTask;
        }
    }
}
