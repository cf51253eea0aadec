using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

public class ChatCompletionsFormatTests
{
    private static StreamChunk Streamed(string json, ChatCompletionsFormat? format = null)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = format ?? new ChatCompletionsFormat(stream: true);
        return chunk;
    }

    private static StreamChunk Buffered(string json)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = new ChatCompletionsFormat(stream: false);
        return chunk;
    }

    private static string Written(StreamChunk chunk) => Encoding.UTF8.GetString(chunk.Data.Span);

    [Test]
    public void Decode_TextChunk_TextEvent()
    {
        var output = Streamed(Chunks.Content("hello")).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Is.EqualTo(new[] { (OutputKind.Text, 0, "hello") }));
    }

    [TestCase("""{"choices":[{"index":4096,"delta":{"content":"a"},"finish_reason":null}]}""")]
    [TestCase("""{"choices":[{"index":-1,"delta":{"content":"a"},"finish_reason":null}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":100000,"function":{"arguments":"{}"}}]},"finish_reason":null}]}""")]
    public void Decode_IndexOutsideTheBound_Refused(string json)
    {
        // Each index is a slot or call policies keep state for: a backend naming any number of them could grow memory.
        Assert.Throws<BackendException>(() => _ = Streamed(json).Output);
    }

    [Test]
    public void Decode_LegacyIndexOutsideTheBound_Refused()
    {
        var chunk = StreamChunk.FromUtf8("""{"object":"text_completion","choices":[{"index":70000,"text":"a","finish_reason":null}]}"""u8.ToArray());
        chunk.Format = new CompletionsFormat(stream: true);

        Assert.Throws<BackendException>(() => _ = chunk.Output);
    }

    [Test]
    public void Decode_EveryTextBearingField_OneEventEach()
    {
        const string json = """{"choices":[{"index":1,"delta":{"role":"assistant","content":"a","refusal":"b","reasoning_content":"c","audio":{"id":"x","transcript":"d"}},"finish_reason":"stop"}]}""";

        var output = Streamed(json).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Is.EqualTo(new[]
        {
            (OutputKind.Text, 1, "a"), (OutputKind.Refusal, 1, "b"), (OutputKind.Reasoning, 1, "c"), (OutputKind.AudioTranscript, 1, "d"), (OutputKind.Finish, 1, ""),
        }));
        Assert.That(output[^1].FinishReason, Is.EqualTo("stop"));
    }

    [Test]
    public void Decode_RefusalContentPart_RefusalEvent()
    {
        // Clients read a part of type refusal as the refusal it is: the policies must read it too.
        const string json = """{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"b"}]},"finish_reason":"stop"}]}""";

        var output = Buffered(json).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Is.EqualTo(new[] { (OutputKind.Text, 0, "a"), (OutputKind.Refusal, 0, "b"), (OutputKind.Finish, 0, "") }));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Encode_RefusalContentPartChanged_WrittenIntoThePart(bool stream)
    {
        var json = stream
            ? """{"choices":[{"index":0,"delta":{"content":[{"type":"refusal","refusal":"no SECRET"}]}}]}"""
            : """{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"refusal","refusal":"no SECRET"}]},"finish_reason":"stop"}]}""";
        var chunk = stream ? Streamed(json) : Buffered(json);

        chunk.Output.Single(o => o.Kind == OutputKind.Refusal).Text = "no [R]";

        Assert.That(Written(chunk), Does.Not.Contain("SECRET").And.Contain("\"refusal\":\"no [R]\""));
    }

    [Test]
    public void Decode_ContentPartWithTextAndRefusal_ThrowsInvalidResponse()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"a","refusal":"b"}]}}]}""");

        Assert.That(() => chunk.Output, Throws.TypeOf<BackendException>());
    }

    [Test]
    public void Decode_ToolCallStart_CallAndArgumentEvents()
    {
        var output = Streamed(Chunks.ToolStart(2, "call_a", "get_weather")).Output;

        Assert.That(output, Has.Count.EqualTo(2));
        Assert.That((output[0].Kind, output[0].ToolIndex, output[0].ToolCallId, output[0].ToolName), Is.EqualTo((OutputKind.ToolCall, 2, "call_a", "get_weather")));
        Assert.That((output[1].Kind, output[1].ToolIndex, output[1].Text), Is.EqualTo((OutputKind.ToolArguments, 2, "")));
    }

    [Test]
    public void Decode_LegacyFunctionCall_CallMinusOne()
    {
        var output = Streamed("""{"choices":[{"index":0,"delta":{"function_call":{"name":"f","arguments":"{}"}}}]}""").Output;

        Assert.That(output.Select(o => (o.Kind, o.ToolIndex)), Is.EqualTo(new[] { (OutputKind.ToolCall, -1), (OutputKind.ToolArguments, -1) }));
    }

    [Test]
    public void Decode_ContentPartsBeforeAnotherChoice_ReadsTheOtherChoicesText()
    {
        const string json = """{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":""}]}},{"index":1,"delta":{"content":"SECRET"}}]}""";

        var output = Streamed(json).Output;

        Assert.That(output.Select(o => (o.Kind, o.Slot, o.Text)), Does.Contain((OutputKind.Text, 1, "SECRET")));
    }

    [Test]
    public void Decode_ContentPartsBesideToolCalls_ReadsTheCall()
    {
        const string json = """{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":""}],"tool_calls":[{"index":0,"id":"t","function":{"name":"rm","arguments":"{}"}}]}}]}""";

        var output = Streamed(json).Output;

        Assert.That(output.Where(o => o.Kind == OutputKind.ToolCall).Select(o => o.ToolName), Is.EqualTo(new[] { "rm" }));
    }

    [Test]
    public void Decode_UsageChunk_UsageEvent()
    {
        Assert.That(Streamed(Chunks.Usage()).Output.Select(o => o.Kind), Is.EqualTo(new[] { OutputKind.Usage }));
    }

    [Test]
    public void Decode_BufferedToolCalls_PositionIsTheIndex()
    {
        const string json = """{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"x","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"y","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}""";

        var calls = Buffered(json).Output.Where(o => o.Kind == OutputKind.ToolCall).Select(o => (o.ToolIndex, o.ToolName));

        Assert.That(calls, Is.EqualTo(new[] { (0, "x"), (1, "y") }));
    }

    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather"},"custom":{"name":"rm"}}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":"0","function":{"name":"x"}}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":{"index":0}}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":1}}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":"x"}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":"a"}},{"index":0,"delta":{"content":"b"}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"a"}},{"index":0,"function":{"name":"b"}}]}}]}""")]
    [TestCase("""{"choices":{"index":0}}""")]
    [TestCase("""[1,2]""")]
    public void Decode_UnreadableShape_ThrowsInvalidResponse(string json)
    {
        var ex = Assert.Throws<BackendException>(() => _ = Streamed(json).Output);

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendInvalidResponse));
    }

    [Test]
    public void Encode_NothingChanged_BytesAsTheyCame()
    {
        const string json = """{"id":"c1", "choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}],"x_vendor":1}""";
        var chunk = Streamed(json);

        _ = chunk.Output;

        Assert.That(Written(chunk), Is.EqualTo(json));
        Assert.That(chunk.IsModified, Is.False);
    }

    [Test]
    public void Encode_TextChanged_OnlyTheTextChanges()
    {
        var chunk = Streamed("""{"id":"c1","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null,"content_filter_results":{}}],"x_vendor":1}""");

        chunk.Output[0].Text = "HI";

        Assert.That(Written(chunk), Is.EqualTo("""{"id":"c1","choices":[{"index":0,"delta":{"content":"HI"},"logprobs":null,"finish_reason":null,"content_filter_results":{}}],"x_vendor":1}"""));
    }

    [Test]
    public void Encode_AllTextHeldBack_ChunkLeavesNothing()
    {
        var chunk = Streamed(Chunks.Content("sk-"));

        chunk.Output[0].Text = string.Empty;

        Assert.That(chunk.Data.IsEmpty, Is.True);
    }

    [Test]
    public void Encode_TextHeldBackFromRoleChunk_RoleStays()
    {
        var chunk = Streamed(Chunks.Role().Replace("\"content\":\"\"", "\"content\":\"sk-\"", StringComparison.Ordinal));

        chunk.Output[0].Text = string.Empty;

        Assert.That(Written(chunk), Does.Contain("\"delta\":{\"role\":\"assistant\"}"));
    }

    [Test]
    public void Encode_TextHeldBackFromUsageChunk_UsageStays()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"sk-"}}],"usage":{"total_tokens":1}}""");

        chunk.Output[0].Text = string.Empty;

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[],"usage":{"total_tokens":1}}"""));
    }

    [Test]
    public void Add_TextToFinishingChunk_GoesBeforeTheEndInOneEntry()
    {
        var chunk = Streamed(Chunks.Finish());

        chunk.Add(OutputEvent.CreateText(0, "rest"));

        Assert.That(chunk.Output.Select(o => o.Kind), Is.EqualTo(new[] { OutputKind.Text, OutputKind.Finish }));
        var choice = chunk.Json!["choices"]![0]!;
        Assert.That((choice["delta"]!["content"]!.GetValue<string>(), choice["finish_reason"]!.GetValue<string>()), Is.EqualTo(("rest", "stop")));
    }

    [Test]
    public void Add_FinishForAnotherSlot_NewEntry()
    {
        var chunk = Streamed(Chunks.Content("a"));

        chunk.Add(OutputEvent.CreateFinish(1));

        var entry = chunk.Json!["choices"]!.AsArray().Single(c => c!["index"]!.GetValue<int>() == 1)!;
        Assert.That(entry["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public void RemoveSlot_OneOfTwo_OtherStays()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"role":"assistant","content":"b"}}]}""");

        chunk.RemoveSlot(1);

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"delta":{"content":"a"}}]}"""));
    }

    [Test]
    public void Remove_ToolCall_TakesItsEntryAndArguments()
    {
        var chunk = Streamed("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"ok","arguments":""}},{"index":1,"id":"b","function":{"name":"rm","arguments":"{}"}}]}}]}""");

        foreach (var output in chunk.Output.Where(o => o.ToolIndex == 1))
        {
            output.Remove();
        }

        Assert.That(Written(chunk), Does.Contain("\"ok\"").And.Not.Contain("rm").And.Not.Contain("\"b\""));
    }

    [Test]
    public void Remove_BufferedFirstOfTwoCalls_SecondStays()
    {
        var chunk = Buffered("""{"choices":[{"index":0,"message":{"tool_calls":[{"id":"a","function":{"name":"x","arguments":"1"}},{"id":"b","function":{"name":"y","arguments":"2"}}]}}]}""");

        foreach (var output in chunk.Output.Where(o => o.ToolIndex == 0))
        {
            output.Remove();
        }

        Assert.That(Written(chunk), Is.EqualTo("""{"choices":[{"index":0,"message":{"tool_calls":[{"id":"b","function":{"name":"y","arguments":"2"}}]}}]}"""));
    }

    [Test]
    public void Output_ChunkLeftWithNothingAndWritten_ReadsAsNoEvents()
    {
        var chunk = Streamed(Chunks.Content("SECRET-1"));
        chunk.Output[0].Text = string.Empty;
        Assume.That(chunk.Data.IsEmpty, "the chunk is dropped");

        Assert.That(chunk.Output, Is.Empty);
    }

    [Test]
    public void Add_ToChunkLeftWithNothingAndWritten_WritesTheEvent()
    {
        var chunk = Streamed(Chunks.Content("SECRET-1"));
        chunk.Output[0].Text = string.Empty;
        Assume.That(chunk.Data.IsEmpty, "the chunk is dropped");

        chunk.Add(OutputEvent.CreateFinish(0));

        Assert.That(JsonNode.Parse(chunk.Data.Span)!["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public void CreateChunk_AfterAChunk_CarriesItsIdsAndParsesAsAChunk()
    {
        var format = new ChatCompletionsFormat(stream: true);
        _ = Streamed(Chunks.Content("a"), format).Output;

        var created = format.CreateChunk();
        created.Add(OutputEvent.CreateText(0, "b"));

        var json = JsonNode.Parse(created.Data.Span)!;
        Assert.That((json["id"]!.GetValue<string>(), json["object"]!.GetValue<string>(), json["created"]!.GetValue<int>()), Is.EqualTo(("c1", "chat.completion.chunk", 1)));
        Assert.That(json["choices"]![0]!["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("b"));
    }

    [Test]
    public void Output_ChangedByOnePolicy_NextSeesTheChange()
    {
        var chunk = Streamed(Chunks.Content("a"));

        chunk.Output[0].Text = "b";

        Assert.That(chunk.Output[0].Text, Is.EqualTo("b"));
    }

    [Test]
    public void Json_AfterOutputChanged_HasTheChange()
    {
        var chunk = Streamed(Chunks.Content("a"));
        chunk.Output[0].Text = "b";

        Assert.That(chunk.Json!["choices"]![0]!["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("b"));
    }
}
