using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// Policies over real answers recorded from OpenAI (TestData/Recorded): a policy that finds nothing leaves the client
/// the recorded bytes, and a word a policy takes out is in no byte the client gets — not in logprobs, audio or
/// annotations either. (The Responses API records there wait for its adapter.)
/// </summary>
public class RecordedAnswersTests
{
    /// <summary>A recorded answer, and a word in it: in its text, or only in another channel (refusal, transcript, tool arguments).</summary>
    public sealed record Record(string File, bool Streamed, bool Legacy = false, string? TextWord = null, string? OtherWord = null)
    {
        public override string ToString() => File;
    }

    private static readonly Record[] All =
    [
        new("chat-hello.json", Streamed: false, TextWord: "today"),
        new("chat-refusal.json", Streamed: false, OtherWord: "sorry"),
        new("chat-tool-calls.json", Streamed: false, OtherWord: "Santiago"),
        new("chat-web-search.json", Streamed: false, TextWord: "observervoice"),
        new("chat-logprobs.json.gz", Streamed: false, TextWord: "Mediterranean"),
        new("chat-audio.json.gz", Streamed: false, OtherWord: "clear"),
        new("chat-stream-text-usage.sse", Streamed: true, TextWord: "request"),
        new("chat-stream-logprobs.sse.gz", Streamed: true, TextWord: "Hawaiian"),
        new("chat-stream-audio.sse.gz", Streamed: true, OtherWord: "check"),
        new("completions-stream-logprobs.sse", Streamed: true, Legacy: true, TextWord: "experiences"),
    ];

    private static Record[] Records() => All;

    private static IEnumerable<TestCaseData> TextWords() =>
        from record in All
        where record.TextWord is not null
        from action in new[] { ContentAction.Redact, ContentAction.Block }
        select new TestCaseData(record, action);

    private static IEnumerable<Record> OtherWords() => All.Where(r => r.OtherWord is not null);

    [TestCaseSource(nameof(Records))]
    public async Task ResponseContentPolicy_PatternMatchingNothing_ClientGetsTheRecordedBytes(Record record)
    {
        var recorded = RecordedAnswers.Load(record.File);

        // No text of any record has the pattern's first character, so nothing is even held back.
        var (output, _) = await RunAsync(record, new ResponseContentPolicy(["\u2603never"]));

        Assert.That(Encoding.UTF8.GetString(output), Is.EqualTo(Encoding.UTF8.GetString(recorded)));
        Assert.That(output, Is.EqualTo(recorded));
    }

    [TestCaseSource(nameof(TextWords))]
    public async Task ResponseContentPolicy_WordOfTheText_InNoByteTheClientGets(Record record, ContentAction action)
    {
        var word = record.TextWord!;
        var recorded = Answer(record, RecordedAnswers.Load(record.File));
        Assume.That(string.Concat(RecordedAnswers.Choices(recorded).Select(RecordedAnswers.TextOf)), Does.Contain(word), "the word is in the recorded text");

        var (output, answer) = await RunAsync(record, new ResponseContentPolicy([word], action, "[R]"));

        var choices = RecordedAnswers.Choices(answer).ToList();
        var text = string.Concat(choices.Select(RecordedAnswers.TextOf));
        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(output), Does.Not.Contain(word));
            Assert.That(text, Does.Not.Contain(word));
            Assert.That(string.Concat(choices.Select(RecordedAnswers.TokensOf)), Does.Not.Contain(word), "logprobs tokens");
            foreach (var choice in choices)
            {
                // Logprobs that stay tell the tokens of exactly the text sent beside them.
                if (RecordedAnswers.TokensOf(choice) is { } tokens)
                {
                    Assert.That(tokens, Is.EqualTo(RecordedAnswers.TextOf(choice)), "a choice's logprobs tokens");
                }
            }

            if (action == ContentAction.Redact)
            {
                Assert.That(text, Does.Contain("[R]"));
            }
            else
            {
                Assert.That(choices.Select(c => (string?)c["finish_reason"]), Does.Contain("content_filter"));
            }
        });
    }

    [TestCaseSource(nameof(OtherWords))]
    public async Task PolicyOnEveryChannel_WordOfARefusalTranscriptOrArguments_InNoByteTheClientGets(Record record)
    {
        var word = record.OtherWord!;
        Assume.That(Encoding.UTF8.GetString(RecordedAnswers.Load(record.File)), Does.Contain(word), "the word is in the record");

        var (output, answer) = await RunAsync(record, new RedactEveryChannelPolicy(word));

        var client = Encoding.UTF8.GetString(output);
        Assert.That(client, Does.Not.Contain(word));
        Assert.That(client, Does.Contain("[R]"));
        foreach (var choice in RecordedAnswers.Choices(answer))
        {
            // Speech of a changed transcript is not sent beside it (the base64 would not show the word to a text search).
            if ((choice["delta"] ?? choice["message"])?["audio"] is JsonObject audio && ((string?)audio["transcript"])?.Contains("[R]", StringComparison.Ordinal) == true)
            {
                Assert.That((string?)audio["data"] ?? string.Empty, Is.Empty, "audio beside a changed transcript");
            }
        }
    }

    private static async Task<(byte[] Output, List<JsonObject> Answer)> RunAsync(Record record, StreamingControlPolicy policy)
    {
        var recorded = RecordedAnswers.Load(record.File);
        var output = record.Streamed
            ? await RecordedAnswers.StreamAsync(recorded, policy, record.Legacy ? new CompletionsFormat(stream: true) : null)
            : await RecordedAnswers.BufferedAsync(recorded, policy);
        return (output, Answer(record, output));
    }

    private static List<JsonObject> Answer(Record record, byte[] bytes) =>
        record.Streamed ? RecordedAnswers.Events(bytes) : [(JsonObject)JsonNode.Parse(bytes)!];

    /// <summary>
    /// Replaces a word in every text a model produces (text, refusal, reasoning, transcript, tool arguments), piece by
    /// piece, as the content policy does once it reads every channel; here, to show that what repeats those texts follows.
    /// </summary>
    private sealed class RedactEveryChannelPolicy(string word) : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            foreach (var output in chunk.Output)
            {
                if (output.HasText)
                {
                    output.Text = output.Text.Replace(word, "[R]", StringComparison.Ordinal);
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }
}
