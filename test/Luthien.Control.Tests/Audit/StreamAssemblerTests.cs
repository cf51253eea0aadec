using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

public sealed class StreamAssemblerTests
{
    private static readonly AuditMask Mask = new([]);

    private static IEnumerable<ReadOnlyMemory<byte>> Events(params string[] data) => data.Select(d => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(d));

    /// <summary>The answer as <see cref="StreamAssembler.Write"/> writes it, read back.</summary>
    private static JsonNode Assemble(string? api, IEnumerable<ReadOnlyMemory<byte>> events) =>
        JsonNode.Parse(StreamAssemblerEquivalenceTests.Written(api, events, Mask))!;

    [Test]
    public void Write_ChatDeltas_OneMessagePerChoice()
    {
        var answer = Assemble("chat.completions", Events(
            """{"id":"c1","created":5,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}""",
            """{"id":"c1","choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"lo"}}]}""",
            """{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            """{"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"""));

        Assert.That((string?)answer["object"], Is.EqualTo("chat.completion"));
        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("Hello"));
        Assert.That((string?)answer["choices"]![0]!["finish_reason"], Is.EqualTo("stop"));
        Assert.That((string?)answer["choices"]![1]!["message"]!["content"], Is.EqualTo("other"));
        Assert.That((int?)answer["usage"]!["total_tokens"], Is.EqualTo(3));
        Assert.That((string?)answer["id"], Is.EqualTo("c1"));
    }

    [Test]
    public void Write_ToolCallFragments_ArgumentsJoined()
    {
        var answer = Assemble("chat.completions", Events(
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"ci"}}]}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":1}"}}]}}]}""",
            """{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"""));

        var call = answer["choices"]![0]!["message"]!["tool_calls"]![0]!;
        Assert.That((string?)call["id"], Is.EqualTo("call_1"));
        Assert.That((string?)call["function"]!["name"], Is.EqualTo("get_weather"));
        Assert.That((string?)call["function"]!["arguments"], Is.EqualTo("{\"city\":1}"));
        Assert.That(answer["choices"]![0]!["message"]!["content"], Is.Null);
    }

    [Test]
    public void Write_LegacyChunks_TextJoined()
    {
        var answer = Assemble("completions", Events(
            """{"id":"x","choices":[{"index":0,"text":"a b"}]}""",
            """{"id":"x","choices":[{"index":0,"text":" c","finish_reason":"length"}]}"""));

        Assert.That((string?)answer["object"], Is.EqualTo("text_completion"));
        Assert.That((string?)answer["choices"]![0]!["text"], Is.EqualTo("a b c"));
        Assert.That((string?)answer["choices"]![0]!["finish_reason"], Is.EqualTo("length"));
    }

    [Test]
    public void Write_ResponsesStream_LastResponseKept()
    {
        var answer = Assemble("responses", Events(
            """{"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","delta":"hi"}""",
            """{"type":"response.completed","response":{"id":"r","status":"completed","output":[{"type":"message"}]}}"""));

        Assert.That((string?)answer["response"]!["status"], Is.EqualTo("completed"));
    }

    [Test]
    public void Write_ResponsesStreamCutShort_TextSeenKept()
    {
        var answer = Assemble("responses", Events(
            """{"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","delta":"hel"}""",
            """{"type":"response.output_text.delta","delta":"lo"}"""));

        Assert.That((string?)answer["output_text"], Is.EqualTo("hello"));
        Assert.That((string?)answer["response"]!["status"], Is.EqualTo("in_progress"));
    }

    [Test]
    public void Write_ResponsesStreamFinished_NoSeparateText()
    {
        var answer = Assemble("responses", Events(
            """{"type":"response.output_text.delta","delta":"hi"}""",
            """{"type":"response.completed","response":{"id":"r","status":"completed","output":[]}}"""));

        Assert.That(answer["output_text"], Is.Null);
    }

    [Test]
    public void Write_ErrorEvent_Kept()
    {
        var answer = Assemble("chat.completions", Events(
            """{"choices":[{"index":0,"delta":{"content":"a"}}]}""",
            """{"error":{"message":"boom","code":"backend_unavailable"}}"""));

        Assert.That((string?)answer["error"]!["code"], Is.EqualTo("backend_unavailable"));
        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("a"));
    }

    [Test]
    public void Write_EventNotJson_Skipped()
    {
        var answer = Assemble("chat.completions", Events("not json", """{"choices":[{"index":0,"delta":{"content":"ok"}}]}"""));

        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("ok"));
    }

    [Test]
    public void Write_EventWithRepeatedName_LastOccurrenceRead()
    {
        var answer = Assemble("chat.completions", Events(
            """{"id":"a","id":"b","choices":[{"index":0,"delta":{"content":"x","content":"z"}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"y"}}]}"""));

        Assert.That((string?)answer["id"], Is.EqualTo("b"));
        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("zy"));
    }

    [Test]
    public void Write_RepeatedHeadThenSecondChoices_LastChoicesRead()
    {
        // The second event is read from its first choices on (its head repeats the first's): a later choices still wins.
        const string Head = """{"id":"c","model":"m","choices":""";

        var answer = Assemble("chat.completions", Events(
            Head + """[{"index":0,"delta":{"content":"a"}}]}""",
            Head + """[{"index":0,"delta":{"content":"x"}}],"usage":{"total_tokens":1},"choices":[{"index":1,"delta":{"content":"y"}}]}"""));

        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("a"));
        Assert.That((string?)answer["choices"]![1]!["message"]!["content"], Is.EqualTo("y"));
        Assert.That((int?)answer["usage"]!["total_tokens"], Is.EqualTo(1));
    }

    [Test]
    public void Write_RepeatedHeadThenSecondChoicesBroken_EventSkipped()
    {
        const string Head = """{"id":"c","model":"m","choices":""";

        var answer = Assemble("chat.completions", Events(
            Head + """[{"index":0,"delta":{"content":"a"}}]}""",
            Head + """[{"index":0,"delta":{"content":"x"}}],"choices":[{"index":0,"delta":{"content":"y"}},]}""",
            Head + """[{"index":0,"delta":{"content":"b"}}]}"""));

        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("ab"));
    }

    [Test]
    public void Write_AfterAnotherStream_NothingCarriedOver()
    {
        Assemble("chat.completions", Events(
            """{"id":"a","usage":{"total_tokens":1},"choices":[{"index":3,"delta":{"role":"tool","refusal":"r","tool_calls":[{"index":0,"id":"c"}]}}]}"""));

        var answer = StreamAssemblerEquivalenceTests.Written("chat.completions", Events("""{"choices":[{"index":0,"delta":{"content":"x"}}]}"""), Mask);

        Assert.That(answer, Is.EqualTo("""{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":null}]}"""));
    }

    [Test]
    public void Write_CalledWhileReadingAnotherStream_BothWhole()
    {
        string? inner = null;
        IEnumerable<ReadOnlyMemory<byte>> Outer()
        {
            yield return Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"delta":{"content":"outer "}}]}""");
            inner = StreamAssemblerEquivalenceTests.Written("chat.completions", Events("""{"choices":[{"index":0,"delta":{"content":"inner"}}]}"""), Mask);
            yield return Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"delta":{"content":"end"}}]}""");
        }

        var outer = Assemble("chat.completions", Outer());

        Assert.That((string?)outer["choices"]![0]!["message"]!["content"], Is.EqualTo("outer end"));
        Assert.That(inner, Does.Contain("\"content\":\"inner\""));
    }

    [Test]
    public void Write_HugeIndex_OneChoiceNoLargeAllocation()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();

        var answer = Assemble("chat.completions", Events(
            """{"choices":[{"index":2000000000,"delta":{"tool_calls":[{"index":2000000000,"id":"c","function":{"arguments":"{}"}}]}}]}"""));

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024 * 1024));
        Assert.That((int?)answer["choices"]![0]!["index"], Is.EqualTo(2000000000));
        Assert.That((string?)answer["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["arguments"], Is.EqualTo("{}"));
    }

    [Test]
    public void Write_ManyChoicesAndCallsSentBackwards_WrittenInIndexOrder()
    {
        // Indexes a backend sends in any order are put in order once, when written (each kept where it first appeared
        // until then: a sorted insert per item was quadratic).
        var choices = string.Join(",", Enumerable.Range(0, 3000).Reverse().Select(i => $$$"""{"index":{{{i}}},"delta":{"content":"c{{{i}}}"}}"""));
        var calls = string.Join(",", Enumerable.Range(0, 3000).Reverse().Select(i => $$$"""{"index":{{{i}}},"id":"call_{{{i}}}","function":{"name":"f","arguments":"{}"}}"""));

        var answer = Assemble("chat.completions", Events(
            $$$"""{"choices":[{{{choices}}}]}""",
            $$$"""{"choices":[{"index":7,"delta":{"tool_calls":[{{{calls}}}]}}]}"""));

        var written = answer["choices"]!.AsArray();
        Assert.That(written.Select(c => (int)c!["index"]!), Is.EqualTo(Enumerable.Range(0, 3000)));
        Assert.That((string?)written[7]!["message"]!["content"], Is.EqualTo("c7"));
        var toolCalls = written[7]!["message"]!["tool_calls"]!.AsArray();
        Assert.That(toolCalls.Select(c => (string?)c!["id"]), Is.EqualTo(Enumerable.Range(0, 3000).Select(i => $"call_{i}")));
    }
}
