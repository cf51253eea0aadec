using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>The chat adapter's tool-call side: byte pre-checks, and arguments a policy adds.</summary>
public class ChatCompletionsFormatToolCallTests
{
    private static StreamChunk Streamed(string json, ChatCompletionsFormat format)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
        chunk.Format = format;
        return chunk;
    }

    private static JsonNode Written(StreamChunk chunk) => JsonNode.Parse(chunk.Data.Span)!;

    [Test]
    public void MayCarryToolCalls_TextChunk_False()
    {
        Assert.That(new ChatCompletionsFormat(stream: true).MayCarryToolCalls(Encoding.UTF8.GetBytes(Chunks.Content("tool_calls are fun"))), Is.False);
    }

    [TestCase("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"function_call":{"name":"f"}}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"tool\u005fcalls":[{"index":0,"function":{"name":"f"}}]}}]}""")]
    public void MayCarryToolCalls_ChunkNamingOrEscapingCalls_True(string json)
    {
        Assert.That(new ChatCompletionsFormat(stream: true).MayCarryToolCalls(Encoding.UTF8.GetBytes(json)), Is.True);
    }

    [Test]
    public void TryListNamelessToolFragments_ArgumentFragment_ListsItsCall()
    {
        var calls = new List<(int Slot, int Call)>();

        var listed = new ChatCompletionsFormat(stream: true).TryListNamelessToolFragments(Encoding.UTF8.GetBytes(Chunks.ToolArgs(2, "{}", 1)), calls);

        Assert.That(listed, Is.True);
        Assert.That(calls, Is.EqualTo(new[] { (1, 2) }));
    }

    [Test]
    public void TryListNamelessToolFragments_FragmentWithAName_False()
    {
        var listed = new ChatCompletionsFormat(stream: true).TryListNamelessToolFragments(Encoding.UTF8.GetBytes(Chunks.ToolStart(0, "call_a", "f")), []);

        Assert.That(listed, Is.False);
    }

    [Test]
    public void Encode_ArgumentsAddedToAMadeChunk_NewFragmentOfTheCall()
    {
        var format = new ChatCompletionsFormat(stream: true);
        _ = Streamed(Chunks.ToolStart(1, "call_a", "f"), format).Output;
        var chunk = format.CreateChunk();

        chunk.Add(OutputEvent.CreateToolArguments(0, 1, "{\"a\":1}"));

        var call = Written(chunk)["choices"]![0]!["delta"]!["tool_calls"]![0]!;
        Assert.That(call["index"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(call["function"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "arguments" }));
        Assert.That(call["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("{\"a\":1}"));
    }

    [Test]
    public void Encode_ArgumentsAddedBesideTheCallsOwnFragment_AppendedToIt()
    {
        var chunk = Streamed(Chunks.ToolArgs(0, "{\"a\":"), new ChatCompletionsFormat(stream: true));

        chunk.Add(OutputEvent.CreateToolArguments(0, 0, "1}"));

        var calls = Written(chunk)["choices"]![0]!["delta"]!["tool_calls"]!.AsArray();
        Assert.That(calls, Has.Count.EqualTo(1));
        Assert.That(calls[0]!["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("{\"a\":1}"));
    }

    [Test]
    public void Encode_ArgumentsAddedToACustomToolCall_WrittenToItsInput()
    {
        var format = new ChatCompletionsFormat(stream: true);
        _ = Streamed("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"custom","custom":{"name":"shell","input":""}}]}}]}""", format).Output;
        var chunk = format.CreateChunk();

        chunk.Add(OutputEvent.CreateToolArguments(0, 0, "ls"));

        Assert.That(Written(chunk)["choices"]![0]!["delta"]!["tool_calls"]![0]!.ToJsonString(), Is.EqualTo("""{"index":0,"custom":{"input":"ls"}}"""));
    }

    [Test]
    public void Encode_ArgumentsAddedToALegacyCall_WrittenToFunctionCall()
    {
        var chunk = new ChatCompletionsFormat(stream: true).CreateChunk();

        chunk.Add(OutputEvent.CreateToolArguments(0, -1, "{}"));

        Assert.That(Written(chunk)["choices"]![0]!["delta"]!["function_call"]!.ToJsonString(), Is.EqualTo("""{"arguments":"{}"}"""));
    }

    [Test]
    public void Encode_ArgumentsAddedToABufferedAnswer_AppendedToTheCallAtThatPosition()
    {
        var chunk = StreamChunk.FromUtf8("""{"choices":[{"index":0,"message":{"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{"}},{"id":"b","type":"function","function":{"name":"g","arguments":"["}}]},"finish_reason":"tool_calls"}]}"""u8.ToArray());
        chunk.Format = new ChatCompletionsFormat(stream: false);

        chunk.Add(OutputEvent.CreateToolArguments(0, 1, "]"));

        var calls = Written(chunk)["choices"]![0]!["message"]!["tool_calls"]!.AsArray();
        Assert.That(calls.Select(c => c!["function"]!["arguments"]!.GetValue<string>()), Is.EqualTo(new[] { "{", "[]" }));
    }

    [Test]
    public void CreateToolArguments_IndexBelowLegacy_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OutputEvent.CreateToolArguments(0, -2, "x"));
    }
}
