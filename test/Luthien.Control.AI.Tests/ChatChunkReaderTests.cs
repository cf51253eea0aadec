using System.Text;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ChatChunkReaderTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static ChatResponseUpdate Update(params AIContent[] contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = "r1",
        MessageId = "msg1",
        ConversationId = "conv1",
        ModelId = "m",
        CreatedAt = Created,
        AuthorName = "bot",
    };

    private static byte[] Bytes(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>Writes each update and reads it back with itself as the original, as the middleware does with an unchanged stream.</summary>
    private static List<ChatResponseUpdate> RoundTrip(params ChatResponseUpdate[] updates)
    {
        using var writer = new ChatChunkWriter();
        var reader = new ChatChunkReader();
        return [.. updates.Select(u => reader.ToUpdate(writer.Write(u), u))];
    }

    [Test]
    public void ToUpdate_UnchangedText_SameTextAndMetadata()
    {
        const string text = "q\"\n</script> \U0001F600 \\";

        var update = RoundTrip(Update(new TextContent(text))).Single();

        Assert.Multiple(() =>
        {
            Assert.That(update.Text, Is.EqualTo(text));
            Assert.That((update.ResponseId, update.MessageId, update.ConversationId, update.ModelId, update.CreatedAt, update.AuthorName),
                Is.EqualTo(("r1", "msg1", "conv1", "m", Created, "bot")));
            Assert.That(update.Role, Is.EqualTo(ChatRole.Assistant));
        });
    }

    [Test]
    public void ToUpdate_UnchangedCalls_SameCallsWithOriginalArguments()
    {
        var arguments = new Dictionary<string, object?> { ["o"] = new Dictionary<string, object?> { ["n"] = 1.25, ["s"] = "a\"b" }, ["i"] = 3 };
        var original = Update(new FunctionCallContent("c1", "f", arguments), new FunctionCallContent("c2", "g"));

        var calls = RoundTrip(original).Single().Contents.Cast<FunctionCallContent>().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(calls.Select(c => (c.CallId, c.Name)), Is.EqualTo(new[] { ("c1", "f"), ("c2", "g") }));
            Assert.That(calls[0].Arguments, Is.SameAs(arguments));
            Assert.That(calls.Select(c => c.RawRepresentation), Has.All.Null);
        });
    }

    [Test]
    public void ToUpdate_UnchangedStream_FinishReasonAndUsageBack()
    {
        var usage = new UsageDetails { InputTokenCount = 5, OutputTokenCount = 7, TotalTokenCount = 12, AdditionalCounts = new() { ["x"] = 1 } };

        var updates = RoundTrip(
            Update(new TextContent("a")),
            new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop },
            Update(new UsageContent(usage)));

        Assert.Multiple(() =>
        {
            Assert.That(updates[1].FinishReason, Is.EqualTo(ChatFinishReason.Stop));
            Assert.That(updates[1].Contents, Is.Empty);
            Assert.That(((UsageContent)updates[2].Contents.Single()).Details, Is.SameAs(usage));
            Assert.That(updates[2].FinishReason, Is.Null);
        });
    }

    [Test]
    public void ToUpdate_UsageChangedByPolicy_UsageFromJson()
    {
        var reader = new ChatChunkReader();
        var original = Update(new UsageContent(new UsageDetails { InputTokenCount = 1 }));

        var update = reader.ToUpdate(Bytes("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"""), original);

        Assert.That(((UsageContent)update.Contents.Single()).Details.InputTokenCount, Is.EqualTo(9));
    }

    [Test]
    public void ToUpdate_ContentsJsonCannotCarry_KeptInPlaceWithoutRaw()
    {
        var data = new DataContent(new byte[] { 1 }, "image/png") { RawRepresentation = "raw secret", AdditionalProperties = new() { ["k"] = "v" } };
        var original = Update(data, new TextContent("hi") { RawRepresentation = "raw secret" });
        original.RawRepresentation = "raw secret";

        var update = RoundTrip(original).Single();

        Assert.Multiple(() =>
        {
            Assert.That(update.Contents[0], Is.SameAs(data));
            Assert.That((data.RawRepresentation, data.AdditionalProperties), Is.EqualTo(((object?)null, (AdditionalPropertiesDictionary?)null)));
            Assert.That(update.Contents[1].RawRepresentation, Is.Null);
            Assert.That(update.RawRepresentation, Is.Null);
            Assert.That(update.AdditionalProperties, Is.Null);
        });
    }

    [Test]
    public void ToUpdate_TextRedacted_TextFromJson()
    {
        var reader = new ChatChunkReader();
        var original = Update(new TextContent("key sk-123"));

        var update = reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"content":"key [REDACTED]"},"finish_reason":null}]}"""), original);

        Assert.That(update.Text, Is.EqualTo("key [REDACTED]"));
    }

    [Test]
    public void ToUpdate_TextHeldByPolicy_UpdateWithoutText()
    {
        var reader = new ChatChunkReader();
        var original = Update(new TextContent("sk-"));

        var update = reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{},"finish_reason":null}]}"""), original);

        Assert.That(update.Contents, Is.Empty);
    }

    [Test]
    public void ToUpdate_ChunkAddedByPolicy_ContentFilterAsAssistant()
    {
        var reader = new ChatChunkReader();

        var update = reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}"""), null);

        Assert.Multiple(() =>
        {
            Assert.That(update.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
            Assert.That(update.Role, Is.EqualTo(ChatRole.Assistant));
            Assert.That(update.Contents, Is.Empty);
        });
    }

    [Test]
    public void ToUpdate_ChunkAddedAfterOriginals_MetadataOfTheLastOriginal()
    {
        var reader = new ChatChunkReader();
        reader.ToUpdate(Bytes("""{"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}"""), Update(new TextContent("a")));

        var added = reader.ToUpdate(Bytes("""{"id":"made-up","choices":[{"index":0,"delta":{"content":"[blocked]"},"finish_reason":"content_filter"}]}"""), null);

        Assert.Multiple(() =>
        {
            Assert.That((added.ResponseId, added.MessageId, added.ModelId), Is.EqualTo(("r1", "msg1", "m")));
            Assert.That(added.Text, Is.EqualTo("[blocked]"));
        });
    }

    [Test]
    public void ToUpdate_CallRemovedByPolicy_CallGone()
    {
        var reader = new ChatChunkReader();
        var original = Update(new FunctionCallContent("c1", "rm_rf"));

        var update = reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}"""), original);

        Assert.Multiple(() =>
        {
            Assert.That(update.Contents, Is.Empty);
            Assert.That(update.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        });
    }

    [Test]
    public void ToUpdate_ArgumentsInFragments_OneCallWhenComplete()
    {
        var reader = new ChatChunkReader();

        var first = reader.ToUpdate(Bytes("""
            {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]}
            """), null);
        var second = reader.ToUpdate(Bytes("""
            {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"[1,2]}"}}]}}]}
            """), null);

        var call = (FunctionCallContent)second.Contents.Single();
        Assert.Multiple(() =>
        {
            Assert.That(first.Contents, Is.Empty);
            Assert.That((call.CallId, call.Name), Is.EqualTo(("c1", "f")));
            Assert.That(call.Arguments!["a"]!.ToString(), Is.EqualTo("[1,2]"));
        });
    }

    [Test]
    public void ToUpdate_FinishReasonWithOpenCall_CallCompleteWithRawArguments()
    {
        var reader = new ChatChunkReader();
        reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":"{\"a\""}}]}}]}"""), null);

        var update = reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"""), null);

        var call = (FunctionCallContent)update.Contents.Single();
        Assert.Multiple(() =>
        {
            Assert.That(call.Exception, Is.Not.Null);
            Assert.That(call.RawRepresentation, Is.EqualTo("{\"a\""));
            Assert.That(update.FinishReason, Is.EqualTo(ChatFinishReason.ToolCalls));
        });
    }

    [Test]
    public void Complete_StreamEndedWithOpenCall_UpdateWithTheCall()
    {
        var reader = new ChatChunkReader();
        reader.ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"f","arguments":""}}]}}]}"""), null);

        var update = reader.Complete();

        Assert.That(((FunctionCallContent)update!.Contents.Single()).CallId, Is.EqualTo("c1"));
    }

    [Test]
    public void Complete_NothingOpen_Null()
    {
        Assert.That(new ChatChunkReader().Complete(), Is.Null);
    }

    [Test]
    public void ToUpdate_OtherChoiceIndex_Ignored()
    {
        var update = new ChatChunkReader().ToUpdate(Bytes("""{"choices":[{"index":1,"delta":{"content":"other"}}]}"""), null);

        Assert.That(update.Contents, Is.Empty);
    }

    [Test]
    public void ToUpdate_Refusal_ReadAsRefusalErrorContent()
    {
        var update = new ChatChunkReader().ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"refusal":"I can't"}}]}"""), null);

        var refusal = (ErrorContent)update.Contents.Single();
        Assert.That((refusal.Message, refusal.ErrorCode), Is.EqualTo(("I can't", "Refusal")));
    }

    [Test]
    public void ToUpdate_ReasoningChanged_ReasoningContentInPlaceWithoutProtectedData()
    {
        var original = new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("sk-secret") { ProtectedData = "enc" }, new TextContent("hi")]);

        var update = new ChatChunkReader().ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"content":"hi","reasoning_content":"[REDACTED]"}}]}"""), original);

        var reasoning = (TextReasoningContent)update.Contents[0];
        Assert.That((reasoning.Text, reasoning.ProtectedData, update.Text), Is.EqualTo(("[REDACTED]", (string?)null, "hi")));
    }

    [Test]
    public void ToUpdate_NotJson_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => new ChatChunkReader().ToUpdate(Bytes("{\"choices\":"), null));
    }

    [Test]
    public void ToUpdate_ContentNotString_ThrowsNamingTheField()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ChatChunkReader().ToUpdate(Bytes("""{"choices":[{"index":0,"delta":{"content":1}}]}"""), null));

        Assert.That(ex!.Message, Does.Contain("'delta.content' as a string"));
    }
}
