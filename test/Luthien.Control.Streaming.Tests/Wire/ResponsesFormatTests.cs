using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

public class ResponsesFormatTests
{
    private const string Secret = "SECRET-[0-9]{6}";

    private sealed record Written(List<string> Raw, List<JsonObject> Events)
    {
        public string All => string.Join("\n", Raw);

        public IEnumerable<string> Types => Events.Select(e => (string)e["type"]!);

        public JsonObject Last => Events[^1];

        public string Deltas(string type) => string.Concat(Events.Where(e => (string)e["type"]! == type).Select(e => (string)e["delta"]!));

        public JsonObject Single(string type) => Events.Single(e => (string)e["type"]! == type);
    }

    private static async Task<Written> StreamAsync(ControlPolicy policy, string[] events)
    {
        var (raw, json) = await ResponsesStream.RunAsync(policy, events);
        return new Written(raw, json);
    }

    private static ResponseContentPolicy Redact() => new([Secret], ContentAction.Redact, "[R]");

    [Test]
    public async Task Stream_NoPolicyMatches_EveryEventPassesByteForByte()
    {
        var events = new ResponsesStream().Reasoning(["think ", "more"], ["again"]).Message("Hello ", "world").Call("get_weather", "{\"city\":", "\"Paris\"}").Completed();

        var written = await StreamAsync(new SerialPolicy([Redact(), new ToolCallPolicy(["get_weather"])]), events);

        Assert.That(written.Raw, Is.EqualTo(events));
    }

    [Test]
    public async Task Stream_RedactAcrossDeltas_EveryRepeatSaysWhatTheDeltasSaid()
    {
        var events = new ResponsesStream().Message("code SEC", "RET-123", "456 ok").Completed();

        var written = await StreamAsync(Redact(), events);

        Assert.That(written.Deltas("response.output_text.delta"), Is.EqualTo("code [R] ok"));
        Assert.That((string?)written.Single("response.output_text.done")["text"], Is.EqualTo("code [R] ok"));
        Assert.That((string?)written.Single("response.content_part.done")["part"]!["text"], Is.EqualTo("code [R] ok"));
        Assert.That((string?)written.Single("response.output_item.done")["item"]!["content"]![0]!["text"], Is.EqualTo("code [R] ok"));
        Assert.That((string?)written.Last["response"]!["output"]![0]!["content"]![0]!["text"], Is.EqualTo("code [R] ok"));
        Assert.That(written.All, Does.Not.Contain("SEC").And.Not.Contain("123"));
        Assert.That(written.Types.Last(), Is.EqualTo("response.completed"));
    }

    [Test]
    public async Task Stream_TextHeldAtPartEnd_ReleasedAsDeltaBeforeTheDoneEvent()
    {
        // "SECRET-12" could still become a match until the part ends: held, then let out as a delta of its own before .done.
        var events = new ResponsesStream().Message("tail ", "SECRET-12").Completed();

        var written = await StreamAsync(Redact(), events);

        var types = written.Types.ToList();
        var done = types.IndexOf("response.output_text.done");
        Assert.That(types[done - 1], Is.EqualTo("response.output_text.delta"));
        Assert.That(written.Deltas("response.output_text.delta"), Is.EqualTo("tail SECRET-12"));
        Assert.That((string?)written.Single("response.output_text.done")["text"], Is.EqualTo("tail SECRET-12"));
        var released = written.Events[done - 1];
        Assert.That((string?)released["item_id"], Is.EqualTo("msg_0"));
        Assert.That((int)released["content_index"]!, Is.EqualTo(0));
        Assert.That(written.Raw, Has.None.Contains("luthien"));
    }

    [Test]
    public async Task Stream_AfterChanges_SequenceNumbersStayContiguous()
    {
        var events = new ResponsesStream().Message("a SECRET-1", "23456 b", " SECRET-9").Completed();

        var written = await StreamAsync(Redact(), events);

        var numbers = written.Events.Select(e => (int)e["sequence_number"]!).ToList();
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, numbers.Count)));
    }

    [Test]
    public async Task Stream_ChangedDelta_LogprobsGo()
    {
        var events = new ResponsesStream().Message("x SECRET-123456 y").Completed();

        var written = await StreamAsync(Redact(), events);

        Assert.That(written.All, Does.Not.Contain("SECRET"));
        Assert.That(written.Single("response.output_text.delta")["logprobs"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task Stream_Block_EndsIncompleteForContentFilterWithNothingOfTheMatch()
    {
        var events = new ResponsesStream().Message("fine ", "then SECRET-123456 and more").Message("second item").Completed();

        var written = await StreamAsync(new ResponseContentPolicy([Secret], ContentAction.Block), events);

        Assert.That(written.All, Does.Not.Contain("SECRET").And.Not.Contain("second item"));
        Assert.That(written.Types.Last(), Is.EqualTo("response.incomplete"));
        Assert.That(written.Types, Does.Not.Contain("response.completed"));
        var response = written.Last["response"]!;
        Assert.That((string?)response["status"], Is.EqualTo("incomplete"));
        Assert.That((string?)response["incomplete_details"]!["reason"], Is.EqualTo("content_filter"));
        Assert.That((string?)response["output"]![0]!["content"]![0]!["text"], Is.EqualTo(written.Deltas("response.output_text.delta")));
        Assert.That((string?)response["id"], Is.EqualTo("resp_1"));
        var numbers = written.Events.Select(e => (int)e["sequence_number"]!).ToList();
        Assert.That(numbers, Is.EqualTo(Enumerable.Range(0, numbers.Count)));
    }

    [Test]
    public async Task Stream_CallNotAllowed_NeverShownNotEvenItsItemAdded()
    {
        var events = new ResponsesStream().Message("Let me clean up.").Call("delete_files", "{\"path\":", "\"/\"}").Completed();

        var written = await StreamAsync(new ToolCallPolicy(["get_weather"]), events);

        Assert.That(written.All, Does.Not.Contain("delete_files").And.Not.Contain("fc_1"));
        Assert.That(written.Deltas("response.output_text.delta"), Is.EqualTo("Let me clean up."));
        Assert.That(written.Types.Last(), Is.EqualTo("response.incomplete"));
        Assert.That((string?)written.Last["response"]!["incomplete_details"]!["reason"], Is.EqualTo("content_filter"));
        Assert.That(written.Last["response"]!["output"]!.AsArray(), Has.Count.EqualTo(1));
    }

    [TestCase("local_shell_call", """{"type":"exec","command":["rm","-rf","/"]}""")]
    [TestCase("computer_call", """{"type":"click","x":1,"y":2}""")]
    public async Task Stream_BuiltInClientToolNotAllowed_NeverShown(string type, string action)
    {
        // Tools the client runs itself (a shell, a computer) are judged like function calls, under their item type.
        var events = new ResponsesStream().Message("Running it.").Open().ToList();
        var item = $$"""{"id":"lsh_1","type":"{{type}}","status":"in_progress","call_id":"call_lsh","action":{{action}}}""";
        events.Add($$"""{"type":"response.output_item.added","sequence_number":{{events.Count}},"output_index":1,"item":{{item}}}""");
        events.Add($$"""{"type":"response.output_item.done","sequence_number":{{events.Count}},"output_index":1,"item":{{item.Replace("in_progress", "completed")}}}""");
        events.Add($$$"""{"type":"response.completed","sequence_number":{{{events.Count}}},"response":{"id":"resp_1","object":"response","status":"completed","output":[{{{item}}}]}}""");

        var written = await StreamAsync(new ToolCallPolicy(["get_weather"]), [.. events]);

        Assert.That(written.All, Does.Not.Contain("call_lsh").And.Not.Contain(type));
        Assert.That(written.Types.Last(), Is.EqualTo("response.incomplete"));
    }

    [Test]
    public async Task Stream_BuiltInClientToolAllowedByItsType_Passes()
    {
        var events = new ResponsesStream().Message("Running it.").Open().ToList();
        const string item = """{"id":"lsh_1","type":"local_shell_call","status":"completed","call_id":"call_lsh","action":{"type":"exec","command":["ls"]}}""";
        events.Add($$"""{"type":"response.output_item.added","sequence_number":{{events.Count}},"output_index":1,"item":{{item}}}""");
        events.Add($$"""{"type":"response.output_item.done","sequence_number":{{events.Count}},"output_index":1,"item":{{item}}}""");
        events.Add($$$"""{"type":"response.completed","sequence_number":{{{events.Count}}},"response":{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Running it.","annotations":[]}]},{{{item}}}]}}""");

        var written = await StreamAsync(new ToolCallPolicy(["local_shell_call"]), [.. events]);

        Assert.That(written.Raw, Is.EqualTo(events));
    }

    [Test]
    public async Task Stream_TextAddedAtTheAnswersEnd_GoesToTheMessageNotReasoningOrCalls()
    {
        // A policy that adds to the end of an answer (the sample's disclaimer) finds it where a message part ends "stop".
        var events = new ResponsesStream().Reasoning(["thinking"]).Message("Hello").Call("get_weather", "{}").Completed();

        var written = await StreamAsync(new AddAtStop(" (checked)"), events);

        Assert.That(written.Deltas("response.output_text.delta"), Is.EqualTo("Hello (checked)"));
        Assert.That(written.Deltas("response.reasoning_summary_text.delta"), Is.EqualTo("thinking"));
        Assert.That(written.Deltas("response.function_call_arguments.delta"), Is.EqualTo("{}"));
        Assert.That((string?)written.Last["response"]!["output"]![1]!["content"]![0]!["text"], Is.EqualTo("Hello (checked)"));
    }

    private sealed class AddAtStop(string text) : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            foreach (var output in chunk.Output.ToList())
            {
                if (output is { Kind: OutputKind.Finish, FinishReason: "stop" })
                {
                    chunk.Add(OutputEvent.CreateText(output.Slot, text));
                }
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task Stream_RedactInReasoningSummaryParts_EachPartItsOwn()
    {
        var events = new ResponsesStream().Reasoning(["key SECRET-1", "23456."], ["next part"]).Message("ok").Completed();

        var written = await StreamAsync(Redact(), events);

        Assert.That(written.All, Does.Not.Contain("SECRET"));
        var summary = written.Events.First(e => (string)e["type"]! == "response.output_item.done")["item"]!["summary"]!;
        Assert.That((string?)summary[0]!["text"], Is.EqualTo("key [R]."));
        Assert.That((string?)summary[1]!["text"], Is.EqualTo("next part"));
    }

    [Test]
    public async Task Stream_UpstreamErrorEvent_PassedAndTheStreamEnds()
    {
        var events = new ResponsesStream().Message("hi").Open()
            .Append("""{"type":"error","code":"server_error","message":"boom","param":null,"sequence_number":99}""")
            .Append("""{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"late","sequence_number":100}""").ToArray();

        var written = await StreamAsync(Redact(), events);

        Assert.That(written.Types.Last(), Is.EqualTo("error"));
        Assert.That(written.All, Does.Not.Contain("late"));
    }

    [Test]
    public void Stream_DeltaNamedTwice_Refused()
    {
        // A client takes the last "delta"; a reader that took the first would police other text than the client shows.
        var events = new ResponsesStream().Message("ok").Open().ToList();
        var index = events.FindIndex(e => e.Contains("output_text.delta"));
        events[index] = events[index].Replace("\"delta\":\"ok\"", "\"delta\":\"ok\",\"delta\":\"SECRET-123456\"");

        Assert.ThrowsAsync<BackendException>(() => StreamAsync(Redact(), [.. events]));
    }

    [Test]
    public async Task Stream_EscapedDeltaAndMemberNames_ReadAndRedactedLikePlainOnes()
    {
        // \u escapes take the tree path, plain events the scanner: both must see the same text.
        var events = new ResponsesStream().Message("a SECRET-1", "23456 b").Completed().ToList();
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i].Contains("output_text.delta"))
            {
                events[i] = events[i].Replace("\"delta\":", "\"d\\u0065lta\":").Replace("SECRET", "S\\u0045CRET");
            }
        }

        var written = await StreamAsync(Redact(), [.. events]);

        Assert.That(written.Deltas("response.output_text.delta"), Is.EqualTo("a [R] b"));
        Assert.That((string?)written.Single("response.output_text.done")["text"], Is.EqualTo("a [R] b"));
    }

    [Test]
    public async Task Stream_LongerThanTheTextKept_EndsAsBackendFailure()
    {
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new ListStreamingIterator(new ResponsesStream().Message("0123456789", "0123456789", "x").Completed()));
        await Redact().RunAsync(transaction);
        var finisher = new ResponsesStreamFinisher(((ResponsesStreamFinisher)transaction.Response.Stream!).Inner, (ResponsesFormat)transaction.Response.Format!, maxSaidChars: 20);

        var error = Assert.ThrowsAsync<BackendException>(() => ListStreamingIterator.CollectAsync(finisher));

        Assert.That(error!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public async Task Buffered_Redact_ChangesTextAndClearsLogprobs()
    {
        var answer = BufferedAnswer("x SECRET-123456 y");

        var result = await BufferedAsync(Redact(), answer);

        Assert.That((string?)result["output"]![0]!["content"]![0]!["text"], Is.EqualTo("x [R] y"));
        Assert.That(result["output"]![0]!["content"]![0]!["logprobs"]!.AsArray(), Is.Empty);
        Assert.That((string?)result["status"], Is.EqualTo("completed"));
    }

    [Test]
    public async Task Buffered_Block_EndsIncompleteAndDropsLaterItems()
    {
        var answer = BufferedAnswer("x SECRET-123456 y", extraCall: "get_weather");

        var result = await BufferedAsync(new ResponseContentPolicy([Secret], ContentAction.Block), answer);

        Assert.That(result.ToJsonString(), Does.Not.Contain("SECRET").And.Not.Contain("get_weather"));
        Assert.That((string?)result["status"], Is.EqualTo("incomplete"));
        Assert.That((string?)result["incomplete_details"]!["reason"], Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task Buffered_CallNotAllowed_ItemRemovedAnswerIncomplete()
    {
        var answer = BufferedAnswer("Cleaning up.", extraCall: "delete_files");

        var result = await BufferedAsync(new ToolCallPolicy(["get_weather"]), answer);

        Assert.That(result.ToJsonString(), Does.Not.Contain("delete_files"));
        Assert.That(result["output"]!.AsArray(), Has.Count.EqualTo(1));
        Assert.That((string?)result["status"], Is.EqualTo("incomplete"));
    }

    private static string BufferedAnswer(string text, string? extraCall = null)
    {
        var output = new JsonArray(new JsonObject
        {
            ["id"] = "msg_0", ["type"] = "message", ["status"] = "completed", ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray(new JsonObject { ["token"] = text, ["logprob"] = -0.5 }) }),
        });
        if (extraCall is not null)
        {
            output.Add(new JsonObject { ["id"] = "fc_1", ["type"] = "function_call", ["status"] = "completed", ["call_id"] = "call_1", ["name"] = extraCall, ["arguments"] = "{}" });
        }

        return new JsonObject { ["id"] = "resp_1", ["object"] = "response", ["created_at"] = 1, ["status"] = "completed", ["model"] = "m", ["output"] = output, ["usage"] = new JsonObject { ["input_tokens"] = 3, ["output_tokens"] = 4 } }.ToJsonString();
    }

    private static async Task<JsonObject> BufferedAsync(ControlPolicy policy, string answer)
    {
        var transaction = TestTransactions.Responses(stream: false);
        transaction.Response.SetBody(200, Encoding.UTF8.GetBytes(answer), "application/json");
        await policy.RunAsync(transaction);
        return (JsonObject)JsonNode.Parse(transaction.Response.Body.Span)!;
    }
}
