using System.Text;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// What a backend that does not play by the Responses API's rules can send to walk around the policies: each test
/// sends such a stream and checks that what a policy must not let through never reaches the client (or the stream fails).
/// </summary>
public class ResponsesFormatAttackTests
{
    private const string Secret = "SECRET-[0-9]{6}";

    /// <summary>What the client received, one event per line; a stream that failed ends with "FAILED: …".</summary>
    private static async Task<string> StreamAsync(ControlPolicy policy, IEnumerable<string> events)
    {
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new ListStreamingIterator([.. events]));
        await policy.RunAsync(transaction);
        var raw = new List<string>();
        try
        {
            await foreach (var chunk in transaction.Response.Stream!)
            {
                if (!chunk.Data.IsEmpty)
                {
                    raw.Add(Encoding.UTF8.GetString(chunk.Data.Span));
                }

                chunk.Release();
            }
        }
        catch (BackendException ex)
        {
            raw.Add("FAILED: " + ex.Message);
        }

        await transaction.Response.Stream!.DisposeAsync();
        return string.Join("\n", raw);
    }

    private static ResponseContentPolicy Redact() => new([Secret], ContentAction.Redact, "[R]");

    /// <summary>The events with one more after the first that contains <paramref name="marker"/>.</summary>
    private static List<string> InsertAfter(IEnumerable<string> events, string marker, string added)
    {
        var list = events.ToList();
        list.Insert(list.FindIndex(e => e.Contains(marker, StringComparison.Ordinal)) + 1, added);
        return list;
    }

    private static List<string> Replace(IEnumerable<string> events, string marker, string from, string to) =>
        [.. events.Select(e => e.Contains(marker, StringComparison.Ordinal) ? e.Replace(from, to, StringComparison.Ordinal) : e)];

    [Test]
    public async Task Stream_TextDeltaWithErrorMember_StillPoliced()
    {
        // An "error" member does not make a text delta an error event (which would skip the policies): clients go by type.
        var events = Replace(new ResponsesStream().Message("hi", "x").Completed(), "\"delta\":\"x\"", "\"delta\":\"x\"", "\"delta\":\"SECRET-123456\",\"error\":null");

        var written = await StreamAsync(Redact(), events);

        Assert.That(written, Does.Not.Contain("SECRET-123456"));
        Assert.That(written, Does.Contain("[R]"));
    }

    [Test]
    public async Task Stream_ArgumentsAfterTheCallsEnd_Refused()
    {
        // The call was judged on its whole arguments at its end; more after it would reach response.completed's item.
        var events = InsertAfter(new ResponsesStream().Call("run_sql", "{\"q\":\"SELECT 1\"}").Completed(), "response.output_item.done",
            """{"type":"response.function_call_arguments.delta","item_id":"fc_0","output_index":0,"delta":"; DROP TABLE x","sequence_number":7}""");
        var policy = new ToolCallPolicy(["run_sql"], null, new Dictionary<string, ToolArgumentRules> { ["run_sql"] = new(block: ["DROP"]) });

        var written = await StreamAsync(policy, events);

        Assert.That(written, Does.Not.Contain("DROP"));
        Assert.That(written, Does.Contain("FAILED"));
    }

    [Test]
    public async Task Stream_TextAfterItsPartsEnd_Refused()
    {
        var events = InsertAfter(new ResponsesStream().Message("hello").Completed(), "response.content_part.done",
            """{"type":"response.output_text.delta","item_id":"msg_0","output_index":0,"content_index":0,"delta":" EXTRA","sequence_number":5}""");

        var written = await StreamAsync(new ToolCallPolicy(["get_weather"]), events);

        Assert.That(written, Does.Not.Contain("EXTRA"));
        Assert.That(written, Does.Contain("FAILED"));
    }

    [TestCase("response.output_item.done")]
    [TestCase("response.completed")]
    public async Task Stream_CallRenamedAfterItWasJudged_Refused(string repeat)
    {
        // Judged as get_weather when added; a client takes the name of the item's later repeat, and would run that.
        var events = Replace(new ResponsesStream().Call("get_weather", "{}").Completed(), repeat, "get_weather", "delete_files");

        var written = await StreamAsync(new ToolCallPolicy(["get_weather"]), events);

        Assert.That(written, Does.Not.Contain("delete_files"));
        Assert.That(written, Does.Contain("FAILED"));
    }

    [Test]
    public async Task Stream_SecondItemAddedUnderTheSameIndex_Refused()
    {
        // Its arguments would be taken for a repeat of the first call's and never judged.
        var events = InsertAfter(new ResponsesStream().Call("run_sql", "{}").Completed(), "response.output_item.done",
            """{"type":"response.output_item.added","output_index":0,"item":{"id":"fc_9","type":"function_call","status":"completed","arguments":"DROP TABLE x","call_id":"call_0","name":"run_sql"},"sequence_number":7}""");
        var policy = new ToolCallPolicy(["run_sql"], null, new Dictionary<string, ToolArgumentRules> { ["run_sql"] = new(block: ["DROP"]) });

        var written = await StreamAsync(policy, events);

        Assert.That(written, Does.Not.Contain("DROP"));
        Assert.That(written, Does.Contain("FAILED"));
    }

    [Test]
    public async Task Stream_ItemsLargerThanWhatIsKept_EndsAsBackendFailure()
    {
        // The finisher keeps each item it was shown (to close it if a policy ends the answer): bounded like the text it keeps.
        var pad = new string('a', 1000);
        var events = new ResponsesStream().Open().Concat(Enumerable.Range(0, 50).Select(i =>
            $$"""{"type":"response.output_item.added","output_index":{{i}},"item":{"id":"ws_{{i}}","type":"web_search_call","status":"in_progress","pad":"{{pad}}"},"sequence_number":{{i + 2}}}"""));
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new ListStreamingIterator([.. events]));
        await Redact().RunAsync(transaction);
        var finisher = new ResponsesStreamFinisher(((ResponsesStreamFinisher)transaction.Response.Stream!).Inner, (ResponsesFormat)transaction.Response.Format!, maxSaidChars: 20_000);

        var error = Assert.ThrowsAsync<BackendException>(() => ListStreamingIterator.CollectAsync(finisher));

        Assert.That(error!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public async Task Stream_MorePartsThanAnAnswerHas_EndsAsBackendFailure()
    {
        // Each part is a slot the adapter and every policy keep state for: a backend naming ever new ones is refused.
        var events = new ResponsesStream().Open().Concat(Enumerable.Range(0, ResponsesFormat.MaxSlots + 1).Select(i =>
            $$"""{"type":"response.output_text.delta","output_index":{{i}},"content_index":0,"delta":"x","sequence_number":{{i + 2}}}"""));

        var written = await StreamAsync(Redact(), events);

        Assert.That(written, Does.EndWith("more parts than a policed answer may have."));
    }

    [Test]
    public async Task Stream_EventsAlreadyWritten_NotKeptAlive()
    {
        // The adapter remembers which event first showed or ended each part; remembering must not keep the event's tree.
        var pad = new string('a', 20_000);
        var stream = new ResponsesStream();
        for (var i = 0; i < 300; i++)
        {
            stream.Message("x");
        }

        var events = Replace(stream.Completed(), "\"response.output_text.done\"", "\"type\":\"response.output_text.done\"", $"\"type\":\"response.output_text.done\",\"pad\":\"{pad}\"");
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new ListStreamingIterator([.. events]));
        await Redact().RunAsync(transaction);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var read = 0;
        long kept = 0;
        await foreach (var chunk in transaction.Response.Stream!)
        {
            chunk.Release();
            if (++read == events.Count - 1)
            {
                // Every part has ended; the stream (and its adapter) is still open.
                kept = GC.GetTotalMemory(forceFullCollection: true) - baseline;
            }
        }

        Assert.That(kept, Is.LessThan(3_000_000), "300 events of 20 KB each were kept alive");
    }
}
