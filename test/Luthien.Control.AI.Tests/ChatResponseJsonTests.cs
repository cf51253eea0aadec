using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AI.Tests;

public class ChatResponseJsonTests
{
    private static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private static ChatResponse Response(params AIContent[] contents) => new(new ChatMessage(ChatRole.Assistant, contents))
    {
        ResponseId = "resp_1",
        ModelId = "m",
        CreatedAt = Created,
        FinishReason = ChatFinishReason.Stop,
    };

    [Test]
    public void ToCompletion_Text_ChatCompletion()
    {
        var response = Response(new TextContent("Hello "), new TextContent("world"));
        response.Usage = new UsageDetails { InputTokenCount = 3, OutputTokenCount = 2, TotalTokenCount = 5 };

        var json = ChatResponseJson.ToCompletion(response);

        Assert.That(json.Text(), Is.EqualTo(
            """{"id":"resp_1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"""));
    }

    [Test]
    public void ToCompletion_NoIdNoTime_NewIdAndNow()
    {
        var time = new FakeTimeProvider(Created);
        var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, "x"));

        var json = ChatResponseJson.ToCompletion(response, time);

        Assert.Multiple(() =>
        {
            Assert.That(json["id"]!.GetValue<string>(), Does.Match("^chatcmpl-[A-Za-z0-9]{24}$"));
            Assert.That(json["created"]!.GetValue<long>(), Is.EqualTo(1_700_000_000));
            Assert.That(json["model"]!.GetValue<string>(), Is.Empty);
        });
    }

    [Test]
    public void ToCompletion_NoText_ContentNull()
    {
        var json = ChatResponseJson.ToCompletion(Response(new FunctionCallContent("c1", "f")));

        Assert.That(json["choices"]![0]!["message"]!["content"], Is.Null);
    }

    [Test]
    public void ToCompletion_CallsWithoutFinishReason_ToolCalls()
    {
        var response = Response(new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["a"] = 1 }));
        response.FinishReason = null;

        var choice = ChatResponseJson.ToCompletion(response)["choices"]![0]!;

        Assert.Multiple(() =>
        {
            Assert.That(choice["finish_reason"]!.GetValue<string>(), Is.EqualTo("tool_calls"));
            Assert.That(choice["message"]!["tool_calls"]!.Text(), Is.EqualTo(
                """[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]"""));
        });
    }

    [TestCase("length", "length")]
    [TestCase("content_filter", "content_filter")]
    [TestCase("tool_calls", "tool_calls")]
    [TestCase("something_new", "stop")]
    public void ToCompletion_FinishReason_Mapped(string reason, string expected)
    {
        var response = Response(new TextContent("x"));
        response.FinishReason = reason switch
        {
            "length" => ChatFinishReason.Length,
            "content_filter" => ChatFinishReason.ContentFilter,
            "tool_calls" => ChatFinishReason.ToolCalls,
            _ => new ChatFinishReason(reason),
        };

        Assert.That(ChatResponseJson.ToCompletion(response)["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo(expected));
    }

    [Test]
    public void ToCompletion_ToolTurnsBefore_EveryModelMessageJoinedWithoutResults()
    {
        var response = new ChatResponse([
            new ChatMessage(ChatRole.Assistant, [new TextContent("let me look"), new FunctionCallContent("c1", "f")]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", "r")]),
            new ChatMessage(ChatRole.Assistant, "done"),
        ]);

        var message = ChatResponseJson.ToCompletion(response)["choices"]![0]!["message"]!;

        Assert.That(message.Text(), Is.EqualTo("""{"role":"assistant","content":"let me lookdone","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}"""));
    }

    [Test]
    public void ToResponse_UnchangedWithOriginal_KeepsContentsInOrderAndMetadata()
    {
        var reasoning = new TextReasoningContent("think");
        var data = new DataContent(new byte[] { 1 }, "image/png");
        var usageContent = new UsageContent(new UsageDetails { InputTokenCount = 1 });
        var arguments = new Dictionary<string, object?> { ["n"] = 1, ["o"] = new Dictionary<string, object?> { ["x"] = "y" } };
        var original = Response(reasoning, new TextContent("a \"q\"\n"), data, new TextContent("b \U0001F600"), new FunctionCallContent("c1", "f", arguments), usageContent);
        original.ConversationId = "conv";
        original.Usage = new UsageDetails { InputTokenCount = 4, OutputTokenCount = 5, TotalTokenCount = 9, AdditionalCounts = new() { ["x"] = 1 } };

        var response = ChatResponseJson.ToResponse(ChatResponseJson.ToCompletion(original), original);

        var contents = response.Messages.Single().Contents;
        Assert.Multiple(() =>
        {
            Assert.That(contents.Select(c => c.GetType().Name), Is.EqualTo(new[]
            {
                nameof(TextReasoningContent), nameof(TextContent), nameof(DataContent), nameof(TextContent), nameof(FunctionCallContent), nameof(UsageContent),
            }));
            Assert.That(((TextReasoningContent)contents[0]).Text, Is.EqualTo(reasoning.Text));
            Assert.That(contents[2], Is.SameAs(data));
            Assert.That(contents[5], Is.SameAs(usageContent));
            Assert.That(response.Text, Is.EqualTo("a \"q\"\nb \U0001F600"));
            Assert.That(((FunctionCallContent)contents[4]).Arguments, Is.SameAs(arguments));
            Assert.That((response.ResponseId, response.ConversationId, response.ModelId, response.CreatedAt), Is.EqualTo(("resp_1", "conv", "m", Created)));
            Assert.That(response.Usage, Is.SameAs(original.Usage));
            Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
        });
    }

    [Test]
    public void ToResponse_TextChanged_ChangedTextInItsPlaceOthersKept()
    {
        var original = Response(new TextContent("my key sk-1"), new TextReasoningContent("r"), new TextContent(" end"));
        var completion = ChatResponseJson.ToCompletion(original);
        completion["choices"]![0]!["message"]!["content"] = "my key [REDACTED] end";

        var contents = ChatResponseJson.ToResponse(completion, original).Messages.Single().Contents;

        Assert.That(contents.Select(c => c is TextContent t ? t.Text : c.GetType().Name), Is.EqualTo(new[] { "my key [REDACTED]", nameof(TextReasoningContent), " end" }));
    }

    [Test]
    public void ToResponse_TextChangedAcrossMessages_OneAnswerAfterTheResults()
    {
        var original = new ChatResponse([
            new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "f")]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("c1", "r")]),
        ]);
        var completion = ChatResponseJson.ToCompletion(original);
        completion["choices"]![0]!["message"]!["content"] = "added";

        var response = ChatResponseJson.ToResponse(completion, original);

        Assert.That(response.Messages.Select(m => (m.Role, m.Text)), Is.EqualTo(new[] { (ChatRole.Assistant, string.Empty), (ChatRole.Tool, string.Empty), (ChatRole.Assistant, "added") }));
    }

    [Test]
    public void ToResponse_CallRemovedByPolicy_CallGoneAndFinishReasonFromJson()
    {
        var original = Response(new FunctionCallContent("c1", "rm_rf"));
        original.FinishReason = ChatFinishReason.ToolCalls;
        var completion = ChatResponseJson.ToCompletion(original);
        var choice = completion["choices"]![0]!.AsObject();
        choice["message"]!.AsObject().Remove("tool_calls");
        choice["finish_reason"] = "content_filter";

        var response = ChatResponseJson.ToResponse(completion, original);

        Assert.Multiple(() =>
        {
            Assert.That(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), Is.Empty);
            Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
        });
    }

    [Test]
    public void ToResponse_WithOriginal_NoRawRepresentationOrAdditionalPropertiesLeft()
    {
        var text = new TextContent("secret") { RawRepresentation = "secret raw", AdditionalProperties = new() { ["k"] = "secret" } };
        var reasoning = new TextReasoningContent("r") { RawRepresentation = "secret raw" };
        var original = Response(text, reasoning);
        original.RawRepresentation = "secret raw";
        original.AdditionalProperties = new() { ["k"] = "secret" };
        original.Messages[0].RawRepresentation = "secret raw";
        original.Messages[0].AdditionalProperties = new() { ["k"] = "secret" };

        var response = ChatResponseJson.ToResponse(ChatResponseJson.ToCompletion(original), original);

        Assert.Multiple(() =>
        {
            Assert.That((response.RawRepresentation, response.AdditionalProperties), Is.EqualTo(((object?)null, (AdditionalPropertiesDictionary?)null)));
            Assert.That(response.Messages.Select(m => m.RawRepresentation ?? m.AdditionalProperties), Has.All.Null);
            Assert.That(response.Messages.SelectMany(m => m.Contents).Select(c => c.RawRepresentation ?? c.AdditionalProperties), Has.All.Null);
        });
    }

    [Test]
    public void ToResponse_NoOriginal_MetadataFromJson()
    {
        var completion = JsonNode.Parse("""
            {"id":"x1","object":"chat.completion","created":1700000000,"model":"m2","choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}
            """)!.AsObject();

        var response = ChatResponseJson.ToResponse(completion, null);

        Assert.Multiple(() =>
        {
            Assert.That((response.ResponseId, response.ModelId, response.CreatedAt, response.Text), Is.EqualTo(("x1", "m2", Created, "hi")));
            Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Length));
            Assert.That(response.Usage!.TotalTokenCount, Is.EqualTo(3));
            Assert.That(response.Messages.Single().Role, Is.EqualTo(ChatRole.Assistant));
        });
    }

    [Test]
    public void ToResponse_ContentNotString_Throws()
    {
        var completion = JsonNode.Parse("""{"choices":[{"index":0,"message":{"content":5}}]}""")!.AsObject();

        var ex = Assert.Throws<InvalidOperationException>(() => ChatResponseJson.ToResponse(completion, null));

        Assert.That(ex!.Message, Is.EqualTo("The chat completion is not one the library can read: 'choices[0].message.content' is not a string."));
    }
}
