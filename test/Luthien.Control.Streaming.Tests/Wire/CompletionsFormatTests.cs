using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

public class CompletionsFormatTests
{
    private const string Head = """{"id":"cmpl-1","object":"text_completion","created":7,"model":"gpt-3.5-turbo-instruct",""";

    private static string Text(string text, int index = 0, string? finish = null, string logprobs = "null") =>
        $$"""{{Head}}"choices":[{"text":{{System.Text.Json.JsonSerializer.Serialize(text)}},"index":{{index}},"logprobs":{{logprobs}},"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]}""";

    private static StreamChunk Streamed(string json, CompletionsFormat? format = null)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = format ?? new CompletionsFormat(stream: true);
        return chunk;
    }

    private static StreamChunk Buffered(string json)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = new CompletionsFormat(stream: false);
        return chunk;
    }

    private static string Written(StreamChunk chunk) => Encoding.UTF8.GetString(chunk.Data.Span);

    /// <summary>The same bytes read by the tree path (a chunk that counts as changed is never read by the scanner).</summary>
    private static List<(OutputKind, int, string, string?)> ReadByTree(string json)
    {
        var chunk = StreamChunk.FromJson((JsonObject)JsonNode.Parse(json)!);
        chunk.Format = new CompletionsFormat(stream: true);
        return chunk.Output.Select(o => (o.Kind, o.Slot, o.Text, o.FinishReason)).ToList();
    }

    [Test]
    public void Decode_TextChunk_TextEventOfItsChoice()
    {
        var output = Streamed(Text("hello", index: 2)).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Is.EqualTo(new[] { (OutputKind.Text, 2, "hello") }));
    }

    [Test]
    public void Decode_TextWithFinish_TextThenFinish()
    {
        var output = Streamed(Text(" end", finish: "length")).Output;

        Assert.That(output.Select(o => o.Kind), Is.EqualTo(new[] { OutputKind.Text, OutputKind.Finish }));
        Assert.That(output[1].FinishReason, Is.EqualTo("length"));
    }

    [Test]
    public void Decode_BufferedAnswer_TextFinishAndUsage()
    {
        const string json = """{"id":"cmpl-1","object":"text_completion","created":7,"model":"m","choices":[{"text":"a","index":0,"logprobs":null,"finish_reason":"stop"},{"text":"b","index":1,"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""";

        var output = Buffered(json).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Is.EqualTo(new[]
        {
            (OutputKind.Text, 0, "a"), (OutputKind.Finish, 0, ""), (OutputKind.Text, 1, "b"), (OutputKind.Finish, 1, ""), (OutputKind.Usage, -1, ""),
        }));
        Assert.That((output[^1].InputTokens, output[^1].OutputTokens), Is.EqualTo((3L, 2L)));
    }

    [Test]
    public void Decode_UsageChunk_UsageEvent()
    {
        var output = Streamed(Head + "\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,\"total_tokens\":13}}").Output;

        Assert.That(output.Select(o => (o.Kind, o.InputTokens, o.OutputTokens)), Is.EqualTo(new[] { (OutputKind.Usage, (long?)4, (long?)9) }));
    }

    [TestCase("""{"choices":[{"text":"x","index":0,"logprobs":{"tokens":["x"],"token_logprobs":[-0.1],"top_logprobs":[{"x":-0.1}],"text_offset":[0]},"finish_reason":null}]}""")]
    [TestCase("""{"choices":[{"index":1,"text":"a"},{"index":0,"text":"b","finish_reason":"stop"}],"usage":null}""")]
    [TestCase("""{"choices":[{"te\u0078t":"escaped name","index":0}]}""")]
    [TestCase("""{"choices":[{"text":"caf\u00e9 \ud83d\ude00","index":0}]}""")]
    [TestCase("""{"choices":[{"text":null,"index":0,"finish_reason":"stop"}]}""")]
    [TestCase("""{"choices":[{"index":0,"vendor":{"text":"not the text"},"text":"the text"}]}""")]
    [TestCase("""{"choices":null}""")]
    [TestCase("""{"id":"x"}""")]
    public void Decode_ScannerAndTreeRead_TheSameEvents(string json)
    {
        var scanned = Streamed(json).Output.Select(o => (o.Kind, o.Slot, o.Text, o.FinishReason)).ToList();

        Assert.That(scanned, Is.EqualTo(ReadByTree(json)));
    }

    [TestCase("""{"choices":{"text":"x"}}""")]
    [TestCase("""{"choices":[{"text":"a","index":0},{"text":"b","index":0}]}""")]
    [TestCase("""{"choices":[{"index":0},{"text":"b","index":0}]}""")]
    [TestCase("""{"choices":[{"text":1,"index":0}]}""")]
    [TestCase("""{"choices":[{"text":{"value":"SECRET"},"index":0}]}""")]
    [TestCase("""{"choices":[{"text":["SECRET"],"index":0}]}""")]
    [TestCase("""{"choices":[{"text":"a","text":"SECRET","index":0}]}""")]
    [TestCase("""{"choices":[{"text":"a","te\u0078t":"SECRET","index":0}]}""")]
    [TestCase("""{"choices":[{"text":"a","index":0}],"choices":[{"text":"SECRET","index":0}]}""")]
    [TestCase("""{"choices":[{"text":"a","index":"0"}]}""")]
    [TestCase("""{"choices":[{"text":"a","index":0.5}]}""")]
    [TestCase("""{"choices":["a"]}""")]
    [TestCase("""{"choices":[{"text":"\ud800","index":0}]}""")]
    [TestCase("""[1,2]""")]
    [TestCase("""{"choices":[{"text":"a","index":0}]} trailing""")]
    public void Decode_UnreadableShape_ThrowsInvalidResponse(string json)
    {
        var ex = Assert.Throws<BackendException>(() => _ = Streamed(json).Output);

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public void Decode_BufferedTextNotAString_ThrowsInvalidResponse()
    {
        var ex = Assert.Throws<BackendException>(() => _ = Buffered("""{"choices":[{"text":42,"index":0,"finish_reason":"stop"}]}""").Output);

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public void Decode_InvalidUtf8_ThrowsInvalidResponse()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"choices":[{"text":"a?","index":0}]}""");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xC3;
        var chunk = StreamChunk.FromUtf8(bytes);
        chunk.Format = new CompletionsFormat(stream: true);

        var ex = Assert.Throws<BackendException>(() => _ = chunk.Output);

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public void Encode_NothingChanged_BytesAsTheyCame()
    {
        var json = Text("hi", logprobs: """{"tokens":["hi"],"token_logprobs":[-0.5],"top_logprobs":[{"hi":-0.5}],"text_offset":[3]}""").Replace("\"model\"", " \"x_vendor\":1, \"model\"", StringComparison.Ordinal);
        var chunk = Streamed(json);

        _ = chunk.Output;

        Assert.That(Written(chunk), Is.EqualTo(json));
        Assert.That(chunk.IsModified, Is.False);
    }

    [Test]
    public void Encode_TextChanged_TextWrittenLogprobsNull()
    {
        var chunk = Streamed(Text("SECRET", logprobs: """{"tokens":["SEC","RET"],"token_logprobs":[-1,-2],"top_logprobs":[{"SEC":-1},{"RET":-2}],"text_offset":[0,3]}"""));

        chunk.Output[0].Text = "[R]";

        Assert.That(Written(chunk), Is.EqualTo($$"""{{Head}}"choices":[{"text":"[R]","index":0,"logprobs":null,"finish_reason":null}]}"""));
    }

    [Test]
    public void Encode_OtherChoiceChanged_ThisChoiceKeepsItsLogprobs()
    {
        var chunk = Streamed("""{"choices":[{"text":"a","index":0,"logprobs":{"tokens":["a"]}},{"text":"b","index":1,"logprobs":{"tokens":["b"]}}]}""");

        chunk.Output.Single(o => o.Slot == 1).Text = "B";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"text":"a","index":0,"logprobs":{"tokens":["a"]}},{"text":"B","index":1,"logprobs":null}]}"""));
    }

    [Test]
    public void Encode_AllTextHeldBack_ChunkLeavesNothing()
    {
        var chunk = Streamed(Text("SEC"));

        chunk.Output[0].Text = string.Empty;

        Assert.That(chunk.Data.IsEmpty, Is.True);
    }

    [Test]
    public void Encode_TextHeldBackFromFinishingChunk_FinishStaysWithEmptyText()
    {
        var chunk = Streamed(Text("SEC", finish: "length", logprobs: """{"tokens":["SEC"]}"""));

        chunk.Output[0].Text = string.Empty;

        Assert.That(Written(chunk), Is.EqualTo($$"""{{Head}}"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}"""));
    }

    [Test]
    public void Encode_TextHeldBackFromUsageChunk_UsageStays()
    {
        var chunk = Streamed("""{"choices":[{"text":"SEC","index":0}],"usage":{"total_tokens":1}}""");

        chunk.Output[0].Text = string.Empty;

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[],"usage":{"total_tokens":1}}"""));
    }

    [Test]
    public void Encode_BufferedTextRemoved_EmptyTextStays()
    {
        var chunk = Buffered("""{"choices":[{"text":"SECRET","index":0,"logprobs":{"tokens":["SECRET"]},"finish_reason":"stop"}]}""");

        chunk.Output[0].Remove();

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}"""));
    }

    [Test]
    public void Encode_FinishRemovedAndContentFilterAdded_ReasonReplaced()
    {
        var chunk = Streamed(Text("ok", finish: "stop"));

        chunk.Output[1].Remove();
        chunk.Add(OutputEvent.CreateFinish(0));

        Assert.That(JsonNode.Parse(chunk.Data.Span)!["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public void Add_TextToFinishingChunk_AppendedToTheTextLogprobsNull()
    {
        var chunk = Streamed(Text("a", finish: "stop", logprobs: """{"tokens":["a"]}"""));

        chunk.Add(OutputEvent.CreateText(0, "b"));

        Assert.That(Written(chunk), Is.EqualTo($$"""{{Head}}"choices":[{"text":"ab","index":0,"logprobs":null,"finish_reason":"stop"}]}"""));
    }

    [Test]
    public void Add_TextForAnotherSlot_NewEntryShapedLikeOpenAIs()
    {
        var chunk = Streamed(Text("a"));

        chunk.Add(OutputEvent.CreateText(1, "b"));

        Assert.That(Written(chunk), Does.EndWith("""{"text":"b","index":1,"logprobs":null,"finish_reason":null}]}"""));
    }

    [Test]
    public void Add_RefusalEvent_NothingToWriteItIn()
    {
        var chunk = Streamed(Text("a"));

        chunk.Add(OutputEvent.CreateText(0, "no", OutputKind.Refusal));

        Assert.That(Written(chunk), Is.EqualTo(Text("a")));
    }

    [Test]
    public void RemoveSlot_OneOfTwo_OtherStays()
    {
        var chunk = Streamed("""{"choices":[{"text":"a","index":0},{"text":"b","index":1}]}""");

        chunk.RemoveSlot(1);

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"text":"a","index":0}]}"""));
    }

    [Test]
    public void RemoveSlot_OnlyOne_ChunkLeavesNothing()
    {
        var chunk = Streamed(Text("a"));

        chunk.RemoveSlot(0);

        Assert.That(chunk.Data.IsEmpty, Is.True);
    }

    [Test]
    public void CreateChunk_AfterAChunk_CarriesItsIdsAsATextCompletion()
    {
        var format = new CompletionsFormat(stream: true);
        _ = Streamed(Text("a").Replace("\"model\"", "\"system_fingerprint\":\"fp\",\"model\"", StringComparison.Ordinal), format).Output;

        var created = format.CreateChunk();
        created.Add(OutputEvent.CreateText(0, "b"));
        created.Add(OutputEvent.CreateFinish(0));

        Assert.That(Written(created), Is.EqualTo("""{"id":"cmpl-1","object":"text_completion","created":7,"model":"gpt-3.5-turbo-instruct","system_fingerprint":"fp","choices":[{"text":"b","index":0,"logprobs":null,"finish_reason":"content_filter"}]}"""));
    }

    [Test]
    public void CreateChunk_BeforeAnyChunk_MadeUpIdsClientsParse()
    {
        var created = new CompletionsFormat(stream: true).CreateChunk();
        created.Add(OutputEvent.CreateText(0, "b"));

        var json = JsonNode.Parse(created.Data.Span)!;
        Assert.That((json["object"]!.GetValue<string>(), json["id"]!.GetValue<string>()), Is.EqualTo(("text_completion", "cmpl-luthien")));
        Assert.That(json["created"]!.GetValue<long>(), Is.GreaterThan(0));
    }

    [Test]
    public void CreateChunk_Buffered_EmptyObject()
    {
        var created = new CompletionsFormat(stream: false).CreateChunk();

        Assert.That(created.Json!.ToJsonString(), Is.EqualTo("{}"));
    }

    [Test]
    public async Task ResponseContentPolicy_RedactAcrossChunks_WholeMatchReplacedNoOldTokensSent()
    {
        var tokens = static (string t) => $$"""{"tokens":[{{System.Text.Json.JsonSerializer.Serialize(t)}}],"token_logprobs":[-0.1],"top_logprobs":[{}],"text_offset":[0]}""";
        var chunks = await StreamAsync(
            new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]"),
            Text("code", logprobs: tokens("code")), Text(" SEC", logprobs: tokens(" SEC")), Text("RET-123", logprobs: tokens("RET-123")), Text("456 ok", logprobs: tokens("456 ok")), Text("", finish: "stop"));

        var written = chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).Where(s => s.Length > 0).ToList();
        Assert.That(string.Concat(written.Select(w => (string?)JsonNode.Parse(w)!["choices"]![0]!["text"])), Is.EqualTo("code [R] ok"));
        Assert.That(string.Concat(written), Does.Not.Contain("SEC").And.Not.Contain("RET").And.Not.Contain("456"));
        Assert.That(written[0], Is.EqualTo(Text("code", logprobs: tokens("code"))), "a chunk no policy changed keeps its bytes");
    }

    [Test]
    public async Task ResponseContentPolicy_HeldTextAtAnEndWithoutFinish_SentInAChunkOfTheSameAnswer()
    {
        var chunks = await StreamAsync(new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]"), Text("tail SECRET-12"));

        var written = chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).Where(s => s.Length > 0).ToList();
        Assert.That(written, Is.EqualTo(new[] { Text("tail "), Text("SECRET-12") }));
    }

    [Test]
    public async Task ResponseContentPolicy_Block_EndsTheChoiceWithContentFilter()
    {
        var chunks = await StreamAsync(new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block), Text("the SECRET-1"), Text("23456 and more"), Text("", finish: "stop"));

        var written = chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).Where(s => s.Length > 0).ToList();
        Assert.That(string.Concat(written), Does.Not.Contain("SECRET").And.Not.Contain("23456"));
        Assert.That(written[^1], Is.EqualTo(Text("", finish: "content_filter")));
    }

    /// <summary>Runs a policy over a legacy stream (its adapter given, as the request kind does not pick it yet).</summary>
    private static async Task<List<StreamChunk>> StreamAsync(StreamingControlPolicy policy, params string[] chunks)
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(chunks));
        transaction.Response.Format = new CompletionsFormat(stream: true);
        await policy.RunAsync(transaction);
        return await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);
    }
}
