using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>Real Responses API streams recorded from OpenAI (TestData/Recorded) through the policies, the finisher and the writer.</summary>
public class RecordedResponsesTests
{
    private static readonly string[] Streams =
    [
        "responses-stream-text.sse",
        "responses-stream-function-call.sse",
        "responses-stream-logprobs.sse.gz",
        "responses-stream-reasoning-summary.sse.gz",
    ];

    [TestCaseSource(nameof(Streams))]
    public async Task Stream_NothingMatches_EveryByteAsRecorded(string name)
    {
        var recorded = RecordedAnswers.Load(name);

        var written = await StreamAsync(recorded, new SerialPolicy([new ResponseContentPolicy(["NEVER-[0-9]{9}"]), new ToolCallPolicy(null, ["nothing_blocked"])]));

        Assert.That(Encoding.UTF8.GetString(written), Is.EqualTo(Encoding.UTF8.GetString(recorded)));
    }

    [TestCase("responses-stream-text.sse", "today")]
    [TestCase("responses-stream-logprobs.sse.gz", "breakdown")]
    [TestCase("responses-stream-reasoning-summary.sse.gz", "Chelsea")]
    [TestCase("responses-stream-reasoning-summary.sse.gz", "Guggenheim")]
    [TestCase("responses-stream-function-call.sse", "Francisco")]
    public async Task Stream_WordRedacted_InNoByteAndRepeatsAgree(string name, string word)
    {
        var recorded = RecordedAnswers.Load(name);
        Assert.That(Encoding.UTF8.GetString(recorded), Does.Contain(word), "the record says the word");

        var written = await StreamAsync(recorded, new ResponseContentPolicy([word], ContentAction.Redact, "[gone]"));

        var text = Encoding.UTF8.GetString(written);
        Assert.That(text, Does.Not.Contain(word));
        Assert.That(text, Does.Contain("[gone]"));
        AssertRepeatsAgree(RecordedAnswers.Events(written));
    }

    [TestCase("responses-stream-text.sse", "today")]
    [TestCase("responses-stream-reasoning-summary.sse.gz", "Chelsea")]
    public async Task Stream_WordBlocked_EndsIncompleteWithNothingOfIt(string name, string word)
    {
        var written = await StreamAsync(RecordedAnswers.Load(name), new ResponseContentPolicy([word], ContentAction.Block));

        var events = RecordedAnswers.Events(written);
        Assert.That(Encoding.UTF8.GetString(written), Does.Not.Contain(word));
        Assert.That((string?)events[^1]["type"], Is.EqualTo("response.incomplete"));
        Assert.That((string?)events[^1]["response"]!["incomplete_details"]!["reason"], Is.EqualTo("content_filter"));
        AssertRepeatsAgree(events);
    }

    [Test]
    public async Task Stream_RecordedCallNotAllowed_NeverShown()
    {
        var recorded = RecordedAnswers.Load("responses-stream-function-call.sse");
        var call = RecordedAnswers.Events(recorded).First(e => (string?)e["type"] == "response.output_item.added")["item"]!;
        var name = (string)call["name"]!;
        var callId = (string)call["call_id"]!;

        var written = await StreamAsync(recorded, new ToolCallPolicy(null, [name]));

        var events = RecordedAnswers.Events(written);
        // The name is still in the response's echo of the request's tool definitions; the call itself is nowhere.
        Assert.That(Encoding.UTF8.GetString(written), Does.Not.Contain(callId).And.Not.Contain("San Francisco").And.Not.Contain("\"function_call\""));
        Assert.That((string?)events[^1]["type"], Is.EqualTo("response.incomplete"));
    }

    /// <summary>Every event that repeats a part's text says what its deltas said.</summary>
    private static void AssertRepeatsAgree(List<JsonObject> events)
    {
        var said = new Dictionary<string, StringBuilder>();
        foreach (var e in events)
        {
            var type = (string)e["type"]!;
            var key = $"{e["output_index"]}/{e["summary_index"] ?? e["content_index"]}";
            if (type.EndsWith(".delta", StringComparison.Ordinal))
            {
                if (!said.TryGetValue(key, out var sb))
                {
                    said[key] = sb = new StringBuilder();
                }

                sb.Append((string)e["delta"]!);
            }
            else if (type is "response.output_text.done" or "response.reasoning_summary_text.done")
            {
                Assert.That((string?)e["text"], Is.EqualTo(said[key].ToString()), type);
            }
            else if (type == "response.function_call_arguments.done")
            {
                Assert.That((string?)e["arguments"], Is.EqualTo(said[key].ToString()), type);
            }
        }
    }

    /// <summary>As the host writes a Responses stream: event lines, no [DONE], ending after the last event.</summary>
    private static async Task<byte[]> StreamAsync(byte[] sse, ControlPolicy policy)
    {
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new RawSseStreamingIterator(new MemoryStream(sse), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 4 * 1024 * 1024, TimeProvider.System) { EndsAtLastEvent = true });
        await policy.RunAsync(transaction);
        using var output = new MemoryStream();
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = new SseEventWriter(pipe) { WriteEventTypes = true };
        await using (var stream = transaction.Response.Stream!)
        {
            await foreach (var chunk in stream)
            {
                if (!chunk.Data.IsEmpty)
                {
                    writer.WriteChunk(chunk);
                }

                chunk.Release();
                await writer.FlushAsync(CancellationToken.None);
            }
        }

        await pipe.CompleteAsync();
        return output.ToArray();
    }
}
