using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

public sealed class StreamAssemblerTests
{
    private static IEnumerable<ReadOnlyMemory<byte>> Events(params string[] data) => data.Select(d => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(d));

    [Test]
    public void Assemble_ChatDeltas_OneMessagePerChoice()
    {
        var answer = StreamAssembler.Assemble("chat.completions", Events(
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
    public void Assemble_ToolCallFragments_ArgumentsJoined()
    {
        var answer = StreamAssembler.Assemble("chat.completions", Events(
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
    public void Assemble_LegacyChunks_TextJoined()
    {
        var answer = StreamAssembler.Assemble("completions", Events(
            """{"id":"x","choices":[{"index":0,"text":"a b"}]}""",
            """{"id":"x","choices":[{"index":0,"text":" c","finish_reason":"length"}]}"""));

        Assert.That((string?)answer["object"], Is.EqualTo("text_completion"));
        Assert.That((string?)answer["choices"]![0]!["text"], Is.EqualTo("a b c"));
        Assert.That((string?)answer["choices"]![0]!["finish_reason"], Is.EqualTo("length"));
    }

    [Test]
    public void Assemble_ResponsesStream_LastResponseKept()
    {
        var answer = StreamAssembler.Assemble("responses", Events(
            """{"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","delta":"hi"}""",
            """{"type":"response.completed","response":{"id":"r","status":"completed","output":[{"type":"message"}]}}"""));

        Assert.That((string?)answer["response"]!["status"], Is.EqualTo("completed"));
    }

    [Test]
    public void Assemble_ResponsesStreamCutShort_TextSeenKept()
    {
        var answer = StreamAssembler.Assemble("responses", Events(
            """{"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","delta":"hel"}""",
            """{"type":"response.output_text.delta","delta":"lo"}"""));

        Assert.That((string?)answer["output_text"], Is.EqualTo("hello"));
        Assert.That((string?)answer["response"]!["status"], Is.EqualTo("in_progress"));
    }

    [Test]
    public void Assemble_ResponsesStreamFinished_NoSeparateText()
    {
        var answer = StreamAssembler.Assemble("responses", Events(
            """{"type":"response.output_text.delta","delta":"hi"}""",
            """{"type":"response.completed","response":{"id":"r","status":"completed","output":[]}}"""));

        Assert.That(answer["output_text"], Is.Null);
    }

    [Test]
    public void Assemble_ErrorEvent_Kept()
    {
        var answer = StreamAssembler.Assemble("chat.completions", Events(
            """{"choices":[{"index":0,"delta":{"content":"a"}}]}""",
            """{"error":{"message":"boom","code":"backend_unavailable"}}"""));

        Assert.That((string?)answer["error"]!["code"], Is.EqualTo("backend_unavailable"));
        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("a"));
    }

    [Test]
    public void Assemble_EventNotJson_Skipped()
    {
        var answer = StreamAssembler.Assemble("chat.completions", Events("not json", """{"choices":[{"index":0,"delta":{"content":"ok"}}]}"""));

        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("ok"));
    }

    [Test]
    public void Assemble_EventWithRepeatedName_Skipped()
    {
        var answer = StreamAssembler.Assemble("chat.completions", Events(
            """{"id":"a","id":"b","choices":[{"index":0,"delta":{"content":"x"}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"y"}}]}"""));

        Assert.That((string?)answer["choices"]![0]!["message"]!["content"], Is.EqualTo("y"));
    }
}
