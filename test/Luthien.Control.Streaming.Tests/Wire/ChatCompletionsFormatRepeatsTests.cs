using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>What repeats a choice's text (logprobs, audio, annotations) never goes out with text a policy changed.</summary>
public class ChatCompletionsFormatRepeatsTests
{
    private const string StreamRequest = """{"model":"m","stream":true,"logprobs":true,"messages":[{"role":"user","content":"hi"}]}""";

    private static StreamChunk Streamed(string json)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = new ChatCompletionsFormat(stream: true);
        return chunk;
    }

    private static StreamChunk Buffered(string json)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = new ChatCompletionsFormat(stream: false);
        return chunk;
    }

    private static string Written(StreamChunk chunk) => Encoding.UTF8.GetString(chunk.Data.Span);

    /// <summary>A streamed text chunk as OpenAI sends it with <c>logprobs: true</c>: one token, its bytes and alternatives.</summary>
    private static string TokenChunk(string token, int index = 0, string? finish = null)
    {
        var t = System.Text.Json.JsonSerializer.Serialize(token);
        var bytes = string.Join(',', Encoding.UTF8.GetBytes(token));
        return $$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{{index}}},"delta":{"content":{{{t}}}},"logprobs":{"content":[{"token":{{{t}}},"logprob":-0.1,"bytes":[{{{bytes}}}],"top_logprobs":[{"token":{{{t}}},"logprob":-0.1,"bytes":[{{{bytes}}}]}]}],"refusal":null},"finish_reason":{{{(finish is null ? "null" : $"\"{finish}\"")}}}}]}""";
    }

    /// <summary>Every chunk that still has logprobs tells the tokens of exactly the text it carries.</summary>
    private static void AssertLogprobsMatchText(IEnumerable<JsonNode?> choices, string member)
    {
        foreach (var choice in choices)
        {
            if (choice?["logprobs"]?["content"] is JsonArray tokens)
            {
                var text = choice[member]?["content"]?.GetValue<string>() ?? string.Empty;
                Assert.That(string.Concat(tokens.Select(t => t!["token"]!.GetValue<string>())), Is.EqualTo(text), "logprobs tokens of a chunk");
            }
        }
    }

    [Test]
    public void Encode_StreamedTextChanged_LogprobsContentNullRefusalKept()
    {
        var chunk = Streamed(TokenChunk("SECRET").Replace("\"refusal\":null}", "\"refusal\":[]}", StringComparison.Ordinal));

        chunk.Output[0].Text = "[R]";

        var choice = JsonNode.Parse(Written(chunk))!["choices"]![0]!;
        Assert.That(choice["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("[R]"));
        Assert.That(choice["logprobs"]!.ToJsonString(), Is.EqualTo("""{"content":null,"refusal":[]}"""));
    }

    [Test]
    public void Encode_StreamedTextUnchanged_LogprobsAsTheyCame()
    {
        var json = TokenChunk("fine");
        var chunk = Streamed(json);

        chunk.Add(OutputEvent.CreateFinish(0));

        Assert.That(JsonNode.Parse(Written(chunk))!["choices"]![0]!["logprobs"]!.ToJsonString(), Is.EqualTo(JsonNode.Parse(json)!["choices"]![0]!["logprobs"]!.ToJsonString()));
    }

    [Test]
    public void Encode_TextAddedToAChunkWithTokens_LogprobsContentNull()
    {
        var chunk = Streamed(TokenChunk("a", finish: "stop"));

        chunk.Add(OutputEvent.CreateText(0, " released"));

        Assert.That(JsonNode.Parse(Written(chunk))!["choices"]![0]!["logprobs"]!["content"], Is.Null);
    }

    [Test]
    public void Encode_OtherChoiceChanged_ThisChoiceKeepsItsLogprobs()
    {
        var two = TokenChunk("a").Replace("}]}", "}," + TokenChunk("b", index: 1)[(TokenChunk("b").IndexOf("[{", StringComparison.Ordinal) + 1)..], StringComparison.Ordinal);
        var chunk = Streamed(two);

        chunk.Output.Single(o => o.Slot == 1 && o.Kind == OutputKind.Text).Text = "B";

        var choices = JsonNode.Parse(Written(chunk))!["choices"]!.AsArray();
        Assert.That(choices[0]!["logprobs"]!["content"]![0]!["token"]!.GetValue<string>(), Is.EqualTo("a"));
        Assert.That(choices[1]!["logprobs"]!["content"], Is.Null);
    }

    [Test]
    public void Encode_RefusalChanged_RefusalLogprobsNullContentKept()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"refusal":"SECRET"},"logprobs":{"content":[],"refusal":[{"token":"SECRET","logprob":-1,"bytes":[83],"top_logprobs":[]}]}}]}""");

        chunk.Output.Single(o => o.Kind == OutputKind.Refusal).Text = "[R]";

        Assert.That(JsonNode.Parse(Written(chunk))!["choices"]![0]!["logprobs"]!.ToJsonString(), Is.EqualTo("""{"content":[],"refusal":null}"""));
    }

    [Test]
    public void Encode_TextChangedWithVendorTokenList_VendorListNullToo()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"SECRET"},"logprobs":{"content":null,"x_tokens":["SECRET"]}}]}""");

        chunk.Output[0].Text = "[R]";

        Assert.That(Written(chunk), Does.Not.Contain("SECRET"));
    }

    [Test]
    public void Encode_TextChangedLogprobsOfUnknownShape_LogprobsNull()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"SECRET"},"logprobs":["SECRET"]}]}""");

        chunk.Output[0].Text = "[R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"delta":{"content":"[R]"},"logprobs":null}]}"""));
    }

    [Test]
    public void Encode_BufferedTextChanged_LogprobsContentNull()
    {
        var chunk = Buffered("""{"choices":[{"index":0,"message":{"role":"assistant","content":"a SECRET"},"logprobs":{"content":[{"token":"a","logprob":0,"bytes":[97],"top_logprobs":[]},{"token":" SECRET","logprob":0,"bytes":[32],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}]}""");

        chunk.Output[0].Text = "a [R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"message":{"role":"assistant","content":"a [R]"},"logprobs":{"content":null,"refusal":null},"finish_reason":"stop"}]}"""));
    }

    [Test]
    public void Encode_StreamedTranscriptChanged_AudioDataOfTheChunkRemoved()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"audio":{"id":"audio_1","transcript":"say SECRET","data":"U0VDUkVU"}}}]}""");

        chunk.Output.Single(o => o.Kind == OutputKind.AudioTranscript).Text = "say [R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"delta":{"audio":{"id":"audio_1","transcript":"say [R]"}}}]}"""));
    }

    [Test]
    public void Encode_StreamedTranscriptHeldBack_ChunkOfOnlyThatGoes()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"audio":{"transcript":"SEC","data":"U0VD"}},"finish_reason":null}]}""");

        chunk.Output[0].Text = string.Empty;

        Assert.That(chunk.Data.IsEmpty, Is.True);
    }

    [Test]
    public void Encode_BufferedTranscriptChanged_AudioDataEmpty()
    {
        var chunk = Buffered("""{"choices":[{"index":0,"message":{"role":"assistant","content":null,"audio":{"id":"audio_1","data":"U0VDUkVU","expires_at":1,"transcript":"SECRET"}},"finish_reason":"stop"}]}""");

        chunk.Output.Single(o => o.Kind == OutputKind.AudioTranscript).Text = "[R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"message":{"role":"assistant","content":null,"audio":{"id":"audio_1","data":"","expires_at":1,"transcript":"[R]"}},"finish_reason":"stop"}]}"""));
    }

    [Test]
    public void Encode_TextChangedTranscriptNot_AudioDataKept()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"SECRET","audio":{"transcript":"fine","data":"ZmluZQ=="}}}]}""");

        chunk.Output[0].Text = "[R]";

        Assert.That(Written(chunk), Does.Contain("\"data\":\"ZmluZQ==\""));
    }

    [Test]
    public void Encode_BufferedTextChanged_AnnotationsEmptied()
    {
        var chunk = Buffered("""{"choices":[{"index":0,"message":{"role":"assistant","content":"see secret.example","annotations":[{"type":"url_citation","url_citation":{"start_index":4,"end_index":18,"title":"secret","url":"https://secret.example"}}]},"finish_reason":"stop"}]}""");

        chunk.Output[0].Text = "see [R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"message":{"role":"assistant","content":"see [R]","annotations":[]},"finish_reason":"stop"}]}"""));
    }

    [Test]
    public void Encode_StreamedTextChanged_AnnotationsOfTheChunkRemoved()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"secret.example","annotations":[{"type":"url_citation","url_citation":{"url":"https://secret.example"}}]}}]}""");

        chunk.Output[0].Text = "[R]";

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"delta":{"content":"[R]"}}]}"""));
    }

    [TestCase("""{"choices":[{"index":0,"delta":{"content":4111111111111111}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":{"text":"SECRET"}}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"refusal":["SECRET"]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"reasoning_content":1}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"audio":{"transcript":{"t":"SECRET"}}}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":123456}]}}]}""")]
    public void Decode_TextFieldNotAString_ThrowsInvalidResponse(string json)
    {
        var ex = Assert.Throws<BackendException>(() => _ = Streamed(json).Output);

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public async Task ProcessChunk_RedactAcrossTokenChunks_NoChunkCarriesTokensOfOtherText()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.Chat(StreamRequest);
        transaction.Response.SetStream(200, new ListStreamingIterator(
            TokenChunk("code"), TokenChunk(" SEC"), TokenChunk("RET-123"), TokenChunk("456"), TokenChunk(" ok"), TokenChunk("", finish: "stop")));
        await policy.RunAsync(transaction);

        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        var written = chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).Where(s => s.Length > 0).ToList();
        Assert.That(Chunks.Text(chunks), Is.EqualTo("code [R] ok"));
        Assert.That(string.Concat(written), Does.Not.Contain("SEC").And.Not.Contain("RET").And.Not.Contain("456"));
        Assert.That(string.Concat(written), Does.Not.Contain(string.Join(',', Encoding.UTF8.GetBytes("456"))), "the token's bytes");
        AssertLogprobsMatchText(written.SelectMany(s => JsonNode.Parse(s)!["choices"]!.AsArray()), "delta");
    }

    [Test]
    public async Task ProcessChunk_BlockWithTokenChunks_NoTokenOfTheMatchGoesOut()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);
        var transaction = TestTransactions.Chat(StreamRequest);
        transaction.Response.SetStream(200, new ListStreamingIterator(TokenChunk("code SEC"), TokenChunk("RET-123456 more"), TokenChunk("", finish: "stop")));
        await policy.RunAsync(transaction);

        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        var written = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(written, Does.Not.Contain("SEC").And.Not.Contain("123456"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ApplyNonStreaming_RedactWithLogprobs_LogprobsContentNull()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]");
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"x SECRET-123456 y"},"logprobs":{"content":[{"token":"x","logprob":0,"bytes":[120],"top_logprobs":[]},{"token":" SECRET-123456","logprob":0,"bytes":[32],"top_logprobs":[]},{"token":" y","logprob":0,"bytes":[32,121],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var body = Encoding.UTF8.GetString(transaction.Response.Body.Span);
        Assert.That(body, Does.Not.Contain("SECRET"));
        Assert.That(JsonNode.Parse(body)!["choices"]![0]!["logprobs"]!.ToJsonString(), Is.EqualTo("""{"content":null,"refusal":null}"""));
    }

    [Test]
    public async Task ApplyNonStreaming_BlockWithLogprobs_LogprobsContentNull()
    {
        var policy = new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block);
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":"x SECRET-123456 y"},"logprobs":{"content":[{"token":" SECRET-123456","logprob":0,"bytes":[32],"top_logprobs":[]}],"refusal":null},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var body = JsonNode.Parse(transaction.Response.Body.Span)!;
        Assert.That(body.ToJsonString(), Does.Not.Contain("SECRET"));
        Assert.That(body["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task ProcessChunk_TranscriptRedactedByAPolicy_AudioOfThatChunkNotSent()
    {
        var transaction = TestTransactions.Chat(StreamRequest);
        transaction.Response.SetStream(200, new ListStreamingIterator(
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"audio":{"id":"a1","transcript":"the SECRET word","data":"U0VDUkVU"}},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"audio":{"data":"bW9yZQ=="}},"finish_reason":null}]}"""));
        await new RedactTranscriptPolicy("SECRET").RunAsync(transaction);

        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        var written = chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).ToList();
        Assert.That(written[0], Does.Contain("\"transcript\":\"the [R] word\"").And.Not.Contain("U0VDUkVU"));
        Assert.That(written[1], Does.Contain("bW9yZQ=="), "audio of another chunk is not aligned with the transcript: it passes");
    }

    [Test]
    public async Task ApplyNonStreaming_TranscriptRedactedByAPolicy_AudioEmpty()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"index":0,"message":{"role":"assistant","content":null,"audio":{"id":"a1","data":"U0VDUkVU","expires_at":1,"transcript":"the SECRET word"}},"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        await new RedactTranscriptPolicy("SECRET").RunAsync(transaction);

        var audio = JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!["message"]!["audio"]!;
        Assert.That((audio["transcript"]!.GetValue<string>(), audio["data"]!.GetValue<string>()), Is.EqualTo(("the [R] word", string.Empty)));
    }

    /// <summary>Replaces a word in audio transcripts, as a transcript-aware content policy would.</summary>
    private sealed class RedactTranscriptPolicy(string word) : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            foreach (var output in chunk.Output)
            {
                if (output.Kind == OutputKind.AudioTranscript)
                {
                    output.Text = output.Text.Replace(word, "[R]", StringComparison.Ordinal);
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }
}
