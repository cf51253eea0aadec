using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ChatMessageWriterTests
{
    private static JsonArray Messages(params ChatMessage[] messages) =>
        (JsonArray)ChatRequestJson.ToPayload(messages, null, stream: false)["messages"]!;

    [Test]
    public void Write_OneTextContent_ContentIsAString()
    {
        var json = Messages(new ChatMessage(ChatRole.User, "hi"));

        Assert.That(json.Text(), Is.EqualTo("""[{"role":"user","content":"hi"}]"""));
    }

    [Test]
    public void Write_NoContents_ContentIsEmptyString()
    {
        var json = Messages(new ChatMessage(ChatRole.User, (string?)null));

        Assert.That(json[0]!["content"]!.GetValue<string>(), Is.Empty);
    }

    [Test]
    public void Write_TextAndImages_ContentIsParts()
    {
        var message = new ChatMessage(ChatRole.User, [
            new TextContent("look"),
            new UriContent(new Uri("https://example.com/a.png"), "image/png"),
            new DataContent(new byte[] { 1, 2, 3 }, "image/png"),
        ]);

        var content = Messages(message)[0]!["content"]!;

        Assert.That(content.Text(), Is.EqualTo(
            """[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},{"type":"image_url","image_url":{"url":"data:image/png;base64,AQID"}}]"""));
    }

    [Test]
    public void Write_AudioData_InputAudioWithFormat()
    {
        var message = new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1, 2, 3 }, "audio/mpeg")]);

        var part = Messages(message)[0]!["content"]![0]!;

        Assert.That(part.Text(), Is.EqualTo("""{"type":"input_audio","input_audio":{"data":"AQID","format":"mp3"}}"""));
    }

    [Test]
    public void Write_ReasoningContent_SkippedAndCounted()
    {
        var message = new ChatMessage(ChatRole.Assistant, [new TextReasoningContent("thinking"), new TextContent("answer")]);

        var payload = ChatRequestJson.ToPayload([message], null, stream: false, out var skipped);

        Assert.Multiple(() =>
        {
            Assert.That(skipped, Is.EqualTo(1));
            Assert.That(payload["messages"]![0]!["content"]!.GetValue<string>(), Is.EqualTo("answer"));
        });
    }

    [Test]
    public void Write_FunctionCall_ToolCallsWithArgumentsJson()
    {
        var call = new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris", ["days"] = 3 });

        var json = Messages(new ChatMessage(ChatRole.Assistant, [call]))[0]!;

        Assert.That(json.Text(), Is.EqualTo(
            """{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":3}"}}]}"""));
    }

    [Test]
    public void Write_FunctionCallWithoutArguments_ArgumentsAreEmptyObject()
    {
        var json = Messages(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c", "now")]));

        Assert.That(json[0]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("{}"));
    }

    [Test]
    public void Write_FunctionResults_OneToolMessageEach()
    {
        var message = new ChatMessage(ChatRole.Tool, [
            new FunctionResultContent("call_1", "sunny"),
            new FunctionResultContent("call_2", new Dictionary<string, int> { ["t"] = 21 }),
        ]);

        var json = Messages(message);

        Assert.That(json.Text(), Is.EqualTo(
            """[{"role":"tool","tool_call_id":"call_1","content":"sunny"},{"role":"tool","tool_call_id":"call_2","content":"{\"t\":21}"}]"""));
    }

    [Test]
    public void Write_AuthorName_NameMember()
    {
        var json = Messages(new ChatMessage(ChatRole.User, "hi") { AuthorName = "ann" });

        Assert.That(json[0]!["name"]!.GetValue<string>(), Is.EqualTo("ann"));
    }

    [Test]
    public void Write_UnknownRole_PassedAsItsValue()
    {
        var json = Messages(new ChatMessage(new ChatRole("critic"), "hm"));

        Assert.That(json[0]!["role"]!.GetValue<string>(), Is.EqualTo("critic"));
    }

    [Test]
    public void Write_Instructions_LeadingSystemMessage()
    {
        var payload = ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Instructions = "be brief" }, stream: false);

        Assert.That(payload["messages"]![0]!.Text(), Is.EqualTo("""{"role":"system","content":"be brief"}"""));
    }

    [Test]
    public void Write_TextWithEscapesAndSurrogates_JsonKeepsTheText()
    {
        const string text = "say \"hi\"\n</script> \U0001F600 \\";

        var json = Messages(new ChatMessage(ChatRole.User, text));

        Assert.That(JsonNode.Parse(json.Text())![0]!["content"]!.GetValue<string>(), Is.EqualTo(text));
    }
}
