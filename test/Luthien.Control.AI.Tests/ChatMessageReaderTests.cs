using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ChatMessageReaderTests
{
    private static List<ChatMessage> Read(string messagesJson) =>
        ChatRequestJson.ToMessages(JsonNode.Parse($$"""{"model":"m","messages":{{messagesJson}}}""")!.AsObject());

    private static InvalidRequestException Invalid(string messagesJson) =>
        Assert.Throws<InvalidRequestException>(() => Read(messagesJson))!;

    [Test]
    public void Read_StringContent_TextContent()
    {
        var message = Read("""[{"role":"user","content":"hi \"there\"\n"}]""")[0];

        Assert.Multiple(() =>
        {
            Assert.That(message.Role, Is.EqualTo(ChatRole.User));
            Assert.That(message.Contents.Single(), Is.TypeOf<TextContent>());
            Assert.That(message.Text, Is.EqualTo("hi \"there\"\n"));
        });
    }

    [Test]
    public void Read_DeveloperRole_System()
    {
        Assert.That(Read("""[{"role":"developer","content":"x"}]""")[0].Role, Is.EqualTo(ChatRole.System));
    }

    [Test]
    public void Read_Name_AuthorName()
    {
        Assert.That(Read("""[{"role":"user","name":"ann","content":"x"}]""")[0].AuthorName, Is.EqualTo("ann"));
    }

    [Test]
    public void Read_ImageUrlPart_UriContent()
    {
        var content = Read("""[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://e.com/a.png","detail":"low"}}]}]""")[0].Contents.Single();

        var uri = content as UriContent;
        Assert.That(uri, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(uri!.Uri, Is.EqualTo(new Uri("https://e.com/a.png")));
            Assert.That(uri.AdditionalProperties!["detail"], Is.EqualTo("low"));
        });
    }

    [Test]
    public void Read_ImageDataUri_DataContent()
    {
        var content = Read("""[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AQID"}}]}]""")[0].Contents.Single();

        var data = content as DataContent;
        Assert.That(data, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(data!.MediaType, Is.EqualTo("image/png"));
            Assert.That(data.Data.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        });
    }

    [Test]
    public void Read_InputAudio_AudioDataContent()
    {
        var data = (DataContent)Read("""[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AQID","format":"mp3"}}]}]""")[0].Contents.Single();

        Assert.That(data.MediaType, Is.EqualTo("audio/mpeg"));
    }

    [Test]
    public void Read_ToolCalls_FunctionCallWithParsedArguments()
    {
        var call = (FunctionCallContent)Read("""
            [{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":{\"b\":[1,2.5]},\"n\":3}"}}]}]
            """)[0].Contents.Single();

        Assert.Multiple(() =>
        {
            Assert.That(call.CallId, Is.EqualTo("c1"));
            Assert.That(call.Name, Is.EqualTo("f"));
            Assert.That(call.Arguments!.Keys, Is.EqualTo(new[] { "a", "n" }));
            Assert.That(call.Arguments["a"]!.ToString(), Is.EqualTo("""{"b":[1,2.5]}"""));
        });
    }

    [Test]
    public void Read_InvalidArgumentsJson_RawTextKeptWithException()
    {
        var call = (FunctionCallContent)Read("""
            [{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]
            """)[0].Contents.Single();

        Assert.Multiple(() =>
        {
            Assert.That(call.Arguments, Is.Null);
            Assert.That(call.Exception, Is.Not.Null);
            Assert.That(call.RawRepresentation, Is.EqualTo("{not json"));
        });
    }

    [Test]
    public void Read_InvalidArgumentsJson_WrittenBackUnchanged()
    {
        var payload = JsonNode.Parse("""
            {"messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}
            """)!.AsObject();

        var again = ChatRequestJson.ToPayload(ChatRequestJson.ToMessages(payload), null, stream: false);

        Assert.That(again["messages"]![0]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("{not json"));
    }

    [Test]
    public void Read_ToolMessage_FunctionResult()
    {
        var result = (FunctionResultContent)Read("""[{"role":"tool","tool_call_id":"c1","content":"done"}]""")[0].Contents.Single();

        Assert.Multiple(() =>
        {
            Assert.That(result.CallId, Is.EqualTo("c1"));
            Assert.That(result.Result, Is.EqualTo("done"));
        });
    }

    [Test]
    public void Read_ContentNotStringOrArray_ThrowsNamingTheField()
    {
        var ex = Invalid("""[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":5}]""");

        Assert.Multiple(() =>
        {
            Assert.That(ex.Message, Is.EqualTo("'messages[2].content' must be a string, an array of content parts or null."));
            Assert.That(ex.Param, Is.EqualTo("messages[2].content"));
        });
    }

    [Test]
    public void Read_MessageNotObject_ThrowsNamingTheMessage()
    {
        Assert.That(Invalid("""["hi"]""").Message, Is.EqualTo("'messages[0]' must be an object."));
    }

    [Test]
    public void Read_RoleMissing_ThrowsNamingRole()
    {
        Assert.That(Invalid("""[{"content":"hi"}]""").Message, Is.EqualTo("'messages[0].role' is required and must be a non-empty string."));
    }

    [Test]
    public void Read_UnknownPartType_ThrowsNamingTheType()
    {
        var ex = Invalid("""[{"role":"user","content":[{"type":"video","video":{}}]}]""");

        Assert.That(ex.Param, Is.EqualTo("messages[0].content[0].type"));
    }

    [Test]
    public void Read_ToolMessageWithoutCallId_ThrowsNamingToolCallId()
    {
        Assert.That(Invalid("""[{"role":"tool","content":"x"}]""").Message,
            Is.EqualTo("'messages[0].tool_call_id' is required for a tool message and must be a string."));
    }

    [Test]
    public void Read_ToolCallWithoutName_ThrowsNamingTheName()
    {
        var ex = Invalid("""[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]""");

        Assert.That(ex.Message, Is.EqualTo("'messages[0].tool_calls[0].function.name' is required and must be a non-empty string."));
    }

    [Test]
    public void Read_BadImageDataUri_ThrowsNamingTheUrl()
    {
        var ex = Invalid("""[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:nonsense"}}]}]""");

        Assert.That(ex.Message, Is.EqualTo("'messages[0].content[0].image_url.url' must be a valid base64 data URI with a media type."));
    }

    [Test]
    public void Read_EmptyMessages_Throws()
    {
        Assert.That(Invalid("[]").Param, Is.EqualTo("messages"));
    }

    [Test]
    public void Read_BlankRole_ThrowsNamingRole()
    {
        Assert.That(Invalid("""[{"role":" ","content":"hi"}]""").Message, Is.EqualTo("'messages[0].role' is required and must be a non-empty string."));
    }

    [Test]
    public void Read_EmptyFileId_ThrowsNamingFileId()
    {
        Assert.That(Invalid("""[{"role":"user","content":[{"type":"file","file":{"file_id":""}}]}]""").Param, Is.EqualTo("messages[0].content[0].file.file_id"));
    }
}
