using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Policies;

public class ResponseContentPolicyTests
{
    private static async Task<(List<StreamChunk> Chunks, ListStreamingIterator Upstream)> StreamAsync(ResponseContentPolicy policy, params string[] chunks)
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var upstream = new ListStreamingIterator(chunks);
        transaction.Response.SetStream(200, upstream);
        await policy.RunAsync(transaction);
        return (await ListStreamingIterator.CollectAsync(transaction.Response.Stream!), upstream);
    }

    [Test]
    public async Task ProcessChunk_RedactAcrossChunks_ReplacesWholeMatch()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");

        var (chunks, _) = await StreamAsync(policy, Chunks.Role(), Chunks.Content("code SEC"), Chunks.Content("RET-123"), Chunks.Content("456 ok"), Chunks.Finish());

        Assert.That(Chunks.Text(chunks), Is.EqualTo("code [R] ok"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task CompleteStream_ChunksReleasedOnceWritten_StillFlushesHeldText()
    {
        // As the response writer does: each chunk's text is taken, then its pooled buffer is released.
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        // The last chunk with choices carries no text and passes untouched; the held text is flushed at the end.
        const string emptyDelta = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":null}]}""";
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("tail SECRET-12"), emptyDelta));
        await policy.RunAsync(transaction);

        var written = new List<StreamChunk>();
        await foreach (var chunk in transaction.Response.Stream!)
        {
            written.Add(StreamChunk.FromUtf8(chunk.Data.ToArray()));
            chunk.Release();
        }

        Assert.That(Chunks.Text(written), Is.EqualTo("tail SECRET-12"));
        Assert.That(written.Select(c => (string?)c.Json!["id"]), Is.All.EqualTo("c1"));
    }

    [Test]
    public async Task ProcessChunk_ChunkHeldWholeThenWrittenByAnotherPolicy_NextPolicyStillReadsTheStream()
    {
        // The first policy holds all of a chunk's text; the tool policy reads the chunk's bytes (so the chunk is written,
        // and left empty); the next content policy must read that chunk as one that says nothing, not fail the stream.
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("SECRET-1"), Chunks.Content("23456 ok"), Chunks.Finish()));
        var chain = new SerialPolicy([
            new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]"),
            new ToolCallPolicy(["get_weather"]),
            new ResponseContentPolicy(["forbidden"], ContentAction.Block)]);

        await chain.RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("[R] ok"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task ProcessChunk_OneChunkAnswerWithTextAddedBeforeItsEnd_FiltersTheSlotsTextAsOne()
    {
        // A policy ahead in the flow (the sample's Disclaimer) adds text before the end of a slot whose whole answer is
        // one chunk: the slot then has two texts before its end, to be filtered as one text, not refused as text after it.
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        const string whole = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x SECRET-12"},"finish_reason":"stop"}]}""";
        transaction.Response.SetStream(200, new ListStreamingIterator(whole));
        var chain = new SerialPolicy([new AddBeforeEndPolicy("3456 y"), new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]")]);

        await chain.RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("x [R] y"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
    }

    /// <summary>Adds a text before each slot's end, as the sample's DisclaimerPolicy does.</summary>
    private sealed class AddBeforeEndPolicy(string text) : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            for (var i = chunk.Output.Count - 1; i >= 0; i--)
            {
                if (chunk.Output[i].Kind == OutputKind.Finish)
                {
                    chunk.Add(OutputEvent.CreateText(chunk.Output[i].Slot, text));
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task ProcessChunk_ContentAsTextParts_SecretRedactedAcrossParts()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        const string parts = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a SECRET-1"},{"type":"text","text":"23456 b"}]},"finish_reason":null}]}""";

        var (chunks, _) = await StreamAsync(policy, Chunks.Role(), parts, Chunks.Finish());

        var written = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(written, Does.Not.Contain("SECRET").And.Not.Contain("23456"));
        Assert.That(written, Does.Contain("[R]"));
    }

    [Test]
    public async Task ApplyNonStreaming_ContentAsTextParts_SecretRedacted()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"x SECRET-123456 y"}]},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var body = JsonNode.Parse(transaction.Response.Body.Span)!;
        Assert.That(body["choices"]![0]!["message"]!["content"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("x [R] y"));
    }

    [Test]
    public async Task ApplyNonStreaming_ContentAsTextPartsBlocked_LaterPartsEmptiedWithContentFilter()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"x SECRET-12"},{"type":"text","text":"3456 y"},{"type":"text","text":" z"}]},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var body = Encoding.UTF8.GetString(transaction.Response.Body.Span);
        Assert.That(body, Does.Not.Contain("SECRET").And.Not.Contain("3456").And.Not.Contain(" z"));
        Assert.That(JsonNode.Parse(body)!["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task ProcessChunk_TextThatCannotMatch_PassesByteForByte()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"]);
        string[] upstream = [Chunks.Role(), Chunks.Content("one "), Chunks.Content("two"), Chunks.Finish()];

        var (chunks, _) = await StreamAsync(policy, upstream);

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(upstream));
    }

    [Test]
    public async Task ProcessChunk_Block_EndsChoiceWithContentFilterAndStopsReading()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);

        var (chunks, upstream) = await StreamAsync(policy, Chunks.Role(), Chunks.Content("the SECRET-1"), Chunks.Content("23456 and"), Chunks.Content(" more"), Chunks.Finish());

        Assert.That(Chunks.Text(chunks), Is.EqualTo("the "));
        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Has.None.Contains("SECRET").And.None.Contains("123"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
        Assert.That(upstream.Read, Is.EqualTo(3), "nothing is read after the block");
        Assert.That(upstream.Disposed, Is.True);
    }

    [Test]
    public async Task ProcessChunk_BlockDecidedAtTheEndOfAChunkWithACall_CallNotShown()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6,}"], ContentAction.Block);
        const string call = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"run","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}""";

        var (chunks, _) = await StreamAsync(policy, Chunks.Role(), Chunks.Content("the SECRET-123456"), call);

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Has.None.Contains("call_1").And.None.Contains("SECRET"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_TwoChoices_FilteredSeparately()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);
        var transaction = TestTransactions.Chat("""{"model":"m","n":2,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(
            Chunks.Content("a SECRET-", 0), Chunks.Content("fine ", 1), Chunks.Content("111111", 0), Chunks.Content("text", 1), Chunks.Finish("stop", 1), Chunks.Finish("stop", 0)));
        await policy.RunAsync(transaction);

        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks, 0), Is.EqualTo("a "));
        Assert.That(Chunks.Text(chunks, 1), Is.EqualTo("fine text"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EquivalentTo(new[] { "content_filter", "stop" }));
    }

    [Test]
    public async Task ProcessChunk_UsageChunk_PassesUnchanged()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"]);

        var (chunks, _) = await StreamAsync(policy, Chunks.Content("x"), Chunks.Finish(), Chunks.Usage());

        Assert.That(Encoding.UTF8.GetString(chunks[^1].Data.Span), Is.EqualTo(Chunks.Usage()));
    }

    [Test]
    public async Task ApplyNonStreaming_Redact_ReplacesInMessage()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"x SECRET-123456 y"},"finish_reason":"stop"}],"vendor":1}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var body = JsonNode.Parse(transaction.Response.Body.Span)!;
        Assert.That(body["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("x [R] y"));
        Assert.That(body["vendor"]!.GetValue<int>(), Is.EqualTo(1));
    }

    [Test]
    public async Task ApplyNonStreaming_NoFinishReasonAndAMatchLongerThanTheHoldBack_WholeTextIsFiltered()
    {
        // A buffered answer is whole whether or not it says how it ended: nothing waits, so no hold-back limit applies.
        var policy = new ResponseContentPolicy(["sk-[A-Za-z0-9]{20,}"], ContentAction.Redact, "[R]", maxHoldbackChars: 16);
        var transaction = TestTransactions.ChatWithText("hi");
        var key = "sk-" + new string('a', 40);
        transaction.Response.SetBody(200, Encoding.UTF8.GetBytes($$"""{"choices":[{"index":0,"message":{"role":"assistant","content":"key {{key}}"},"finish_reason":null}]}"""), "application/json");

        await policy.RunAsync(transaction);

        var body = JsonNode.Parse(transaction.Response.Body.Span)!;
        Assert.That(body["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("key [R]"));
    }

    [Test]
    public async Task ApplyNonStreaming_Block_RemovesBlockedTextAndSetsContentFilter()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"x SECRET-123456 y"},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var choice = JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!;
        Assert.That(choice["message"]!["content"]!.GetValue<string>(), Is.EqualTo("x "));
        Assert.That(choice["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task ApplyAsync_ResponseMadeByNext_ActsOnItAfterNext()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.ChatWithText("hi");

        await policy.ApplyAsync(transaction, (t, _) =>
        {
            t.Response.SetBody(200, """{"choices":[{"message":{"content":"SECRET-000000"}}]}"""u8.ToArray(), "application/json");
            return ValueTask.CompletedTask;
        }, default);

        Assert.That(JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("[R]"));
    }

    [Test]
    public async Task ApplyAsync_BackendError_LeftAlone()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.ChatWithText("hi");
        var error = """{"error":{"message":"SECRET-123456"}}"""u8.ToArray();
        transaction.Response.SetBody(500, error, "application/json");

        await policy.RunAsync(transaction);

        Assert.That(transaction.Response.Body.ToArray(), Is.EqualTo(error));
    }

    [TestCase("delete")]
    [TestCase("BLOCKED")]
    public void ParseAction_Unknown_Throws(string action)
    {
        Assert.Throws<ArgumentException>(() => ResponseContentPolicy.ParseAction(action));
    }

    [Test]
    public void ProcessChunk_ChunkNotJson_ThrowsInvalidResponse()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"]);

        var ex = Assert.ThrowsAsync<BackendException>(async () => await StreamAsync(policy, Chunks.Role(), "{\"choices\":[{\"delta\":{\"content\":\"SECRET-123456\"}}]", Chunks.Finish()));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ProcessChunk_ContentRepeatedInDelta_ThrowsInvalidResponse()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"]);
        const string twice = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"SECRET-123456","content":"ok"},"finish_reason":null}]}""";

        var ex = Assert.ThrowsAsync<BackendException>(async () => await StreamAsync(policy, Chunks.Role(), twice, Chunks.Finish()));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ProcessChunk_InvalidUtf8InContent_ThrowsInvalidResponse()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"]);
        var bad = Encoding.UTF8.GetBytes(Chunks.Content("SECRET-123456 x"));
        bad[Array.LastIndexOf(bad, (byte)'x')] = 0xFF;
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ByteChunksIterator(Encoding.UTF8.GetBytes(Chunks.Content("first")), bad));

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
        {
            await policy.RunAsync(transaction);
            await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);
        });

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    /// <summary>Chunks from raw bytes, for data a string cannot hold.</summary>
    private sealed class ByteChunksIterator(params byte[][] chunks) : StreamingResponseIterator
    {
        public override async IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            foreach (var chunk in chunks)
            {
                await Task.Yield();
                yield return StreamChunk.FromUtf8(chunk);
            }
        }
    }
}
