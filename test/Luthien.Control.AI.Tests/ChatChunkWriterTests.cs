using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AI.Tests;

public class ChatChunkWriterTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static ChatResponseUpdate Update(params AIContent[] contents) =>
        new(ChatRole.Assistant, contents) { ResponseId = "r1", ModelId = "m", CreatedAt = Created };

    private static string Write(ChatChunkWriter writer, ChatResponseUpdate update) => Encoding.UTF8.GetString(writer.Write(update));

    [Test]
    public void Write_Text_ChunkWithRoleAndContent()
    {
        using var writer = new ChatChunkWriter();

        Assert.That(Write(writer, Update(new TextContent("Hi"))), Is.EqualTo(
            """{"id":"r1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}]}"""));
    }

    [Test]
    public void Write_SecondUpdate_NoRoleAndSameHead()
    {
        using var writer = new ChatChunkWriter();
        Write(writer, Update(new TextContent("a")));

        var second = Write(writer, new ChatResponseUpdate(ChatRole.Assistant, "b") { ResponseId = "other", ModelId = "other" });

        Assert.That(second, Is.EqualTo(
            """{"id":"r1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"b"},"logprobs":null,"finish_reason":null}]}"""));
    }

    [Test]
    public void Write_NullModelAndIdAndTime_MadeUp()
    {
        using var writer = new ChatChunkWriter(new FakeTimeProvider(Created));

        var json = JsonNode.Parse(writer.Write(new ChatResponseUpdate(null, "x")))!;

        Assert.Multiple(() =>
        {
            Assert.That(json["id"]!.GetValue<string>(), Does.Match("^chatcmpl-[A-Za-z0-9]{24}$"));
            Assert.That(json["created"]!.GetValue<long>(), Is.EqualTo(1_700_000_000));
            Assert.That(json["model"]!.GetValue<string>(), Is.Empty);
            Assert.That(json["choices"]![0]!["delta"]!["role"]!.GetValue<string>(), Is.EqualTo("assistant"));
        });
    }

    [Test]
    public void Write_ModelOnlyFromTheSecondUpdate_LaterChunksNameIt()
    {
        using var writer = new ChatChunkWriter();
        var first = JsonNode.Parse(writer.Write(new ChatResponseUpdate(ChatRole.Assistant, "a") { ResponseId = "r" }))!;

        var second = JsonNode.Parse(writer.Write(new ChatResponseUpdate(ChatRole.Assistant, "b") { ResponseId = "r", ModelId = "m" }))!;

        Assert.That(first["model"]!.GetValue<string>(), Is.Empty);
        Assert.That(second["model"]!.GetValue<string>(), Is.EqualTo("m"));
        Assert.That(second["id"]!.GetValue<string>(), Is.EqualTo("r"));
        Assert.That(second["choices"]![0]!["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("b"));
    }

    [Test]
    public void Write_SeveralTextContents_OneContentString()
    {
        using var writer = new ChatChunkWriter();

        // A surrogate pair split between two contents comes out whole.
        var json = JsonNode.Parse(writer.Write(Update(new TextContent("a\"\n</script>\uD83D"), new TextContent("\uDE00b"))))!;

        Assert.That(json["choices"]![0]!["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("a\"\n</script>\U0001F600b"));
    }

    [Test]
    public void Write_EscapesInText_ValidJson()
    {
        using var writer = new ChatChunkWriter();

        var json = Write(writer, Update(new TextContent("q\"\\\n</script>")));

        Assert.That(json, Does.Contain("""
            "content":"q\"\\\n</script>"
            """));
    }

    [Test]
    public void Write_TwoCallsInOneUpdate_TwoEntriesWithStableIndexes()
    {
        using var writer = new ChatChunkWriter();
        var first = new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["o"] = new Dictionary<string, object?> { ["n"] = 1.5 } });
        var second = new FunctionCallContent("c2", "g");

        var json = JsonNode.Parse(writer.Write(Update(first, second)))!;
        var again = JsonNode.Parse(writer.Write(Update(new FunctionCallContent("c2", "g"))))!;

        Assert.Multiple(() =>
        {
            Assert.That(json["choices"]![0]!["delta"]!["tool_calls"]!.Text(), Is.EqualTo(
                """[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"o\":{\"n\":1.5}}"}},{"index":1,"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]"""));
            Assert.That(again["choices"]![0]!["delta"]!["tool_calls"]![0]!["index"]!.GetValue<int>(), Is.EqualTo(1));
        });
    }

    [Test]
    public void Write_UsageOnly_EmptyChoicesAndUsage()
    {
        using var writer = new ChatChunkWriter();

        var json = Write(writer, Update(new UsageContent(new UsageDetails { InputTokenCount = 2, OutputTokenCount = 3, CachedInputTokenCount = 1 })));

        Assert.That(json, Is.EqualTo(
            """{"id":"r1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}}"""));
    }

    [Test]
    public void Write_FinishReasonOnly_EmptyDeltaWithFinishReason()
    {
        using var writer = new ChatChunkWriter();
        Write(writer, Update(new TextContent("a")));

        var json = Write(writer, new ChatResponseUpdate { FinishReason = ChatFinishReason.Length });

        Assert.That(json, Does.EndWith("""
            "choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}
            """.Trim()));
    }

    [Test]
    public void Write_UnknownFinishReasonAfterCalls_ToolCalls()
    {
        using var writer = new ChatChunkWriter();
        Write(writer, Update(new FunctionCallContent("c1", "f")));

        var json = JsonNode.Parse(writer.Write(new ChatResponseUpdate { FinishReason = new ChatFinishReason("paused") }))!;

        Assert.That(json["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("tool_calls"));
    }

    [Test]
    public void Write_IntoBufferWriter_SameBytesAsArray()
    {
        using var writer = new ChatChunkWriter();
        using var other = new ChatChunkWriter();
        var buffer = new ArrayBufferWriter<byte>();

        writer.Write(Update(new TextContent("x")), buffer);

        Assert.That(buffer.WrittenSpan.ToArray(), Is.EqualTo(other.Write(Update(new TextContent("x")))));
    }

    [Test]
    public void Write_ReasoningAndRefusal_WrittenForThePolicies()
    {
        using var writer = new ChatChunkWriter();

        var json = JsonNode.Parse(writer.Write(Update(new TextReasoningContent("think"), new ErrorContent("no") { ErrorCode = "Refusal" }, new ErrorContent("other"))))!;

        Assert.That(json["choices"]![0]!["delta"]!.Text(), Is.EqualTo("""{"role":"assistant","refusal":"no","reasoning_content":"think"}"""));
    }
}
