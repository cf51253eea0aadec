using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ChatOptionsJsonTests
{
    private static JsonObject Payload(ChatOptions options) =>
        ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], options, stream: false);

    private static ChatOptions Read(string members) =>
        ChatRequestJson.ToOptions(JsonNode.Parse($$"""{"messages":[{"role":"user","content":"x"}],{{members}}}""")!.AsObject());

    [Test]
    public void Write_Scalars_OpenAINames()
    {
        var payload = Payload(new ChatOptions
        {
            Temperature = 0.5f, TopP = 0.25f, MaxOutputTokens = 10, Seed = 3, FrequencyPenalty = 1, PresencePenalty = -1,
            StopSequences = ["a", "b"], AllowMultipleToolCalls = true,
        });

        payload.Remove("messages");
        Assert.That(payload.Text(), Is.EqualTo(
            """{"temperature":0.5,"top_p":0.25,"max_tokens":10,"stop":["a","b"],"seed":3,"frequency_penalty":1,"presence_penalty":-1,"parallel_tool_calls":true}"""));
    }

    [Test]
    public void Write_JsonFormatWithoutSchema_JsonObject()
    {
        Assert.That(Payload(new ChatOptions { ResponseFormat = ChatResponseFormat.Json })["response_format"]!.Text(),
            Is.EqualTo("""{"type":"json_object"}"""));
    }

    [Test]
    public void Write_JsonFormatWithSchema_JsonSchema()
    {
        var format = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type":"object"}""").RootElement, "answer", "desc");

        Assert.That(Payload(new ChatOptions { ResponseFormat = format })["response_format"]!.Text(),
            Is.EqualTo("""{"type":"json_schema","json_schema":{"name":"answer","description":"desc","schema":{"type":"object"}}}"""));
    }

    [Test]
    public void Write_Function_ToolWithParametersSchema()
    {
        var tool = AIFunctionFactory.CreateDeclaration("f", "does f", JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"number"}}}""").RootElement);

        Assert.That(Payload(new ChatOptions { Tools = [tool] })["tools"]!.Text(), Is.EqualTo(
            """[{"type":"function","function":{"name":"f","description":"does f","parameters":{"type":"object","properties":{"a":{"type":"number"}}}}}]"""));
    }

    [TestCase("auto", "\"auto\"")]
    [TestCase("none", "\"none\"")]
    [TestCase("any", "\"required\"")]
    [TestCase("specific", """{"type":"function","function":{"name":"f"}}""")]
    public void Write_ToolMode_ToolChoice(string mode, string expected)
    {
        ChatToolMode toolMode = mode switch
        {
            "auto" => ChatToolMode.Auto,
            "none" => ChatToolMode.None,
            "any" => ChatToolMode.RequireAny,
            _ => ChatToolMode.RequireSpecific("f"),
        };

        Assert.That(Payload(new ChatOptions { ToolMode = toolMode })["tool_choice"]!.Text(), Is.EqualTo(expected));
    }

    [Test]
    public void Write_NonFunctionTool_SkippedAndCounted()
    {
        ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Tools = [new HostedWebSearchTool()] }, stream: false, out var skipped);

        Assert.That(skipped, Is.EqualTo(1));
    }

    [Test]
    public void Read_MaxCompletionTokens_MaxOutputTokens()
    {
        Assert.That(Read("\"max_completion_tokens\":12").MaxOutputTokens, Is.EqualTo(12));
    }

    [Test]
    public void Read_StopString_OneStopSequence()
    {
        Assert.That(Read("\"stop\":\"END\"").StopSequences, Is.EqualTo(new[] { "END" }));
    }

    [Test]
    public void Read_Tool_DeclarationWithSchema()
    {
        var options = Read("""
            "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{}}}}]
            """);

        var declaration = (AIFunctionDeclaration)options.Tools!.Single();
        Assert.Multiple(() =>
        {
            Assert.That(declaration.Name, Is.EqualTo("f"));
            Assert.That(declaration.Description, Is.EqualTo("d"));
            Assert.That(declaration.JsonSchema.GetRawText(), Is.EqualTo("""{"type":"object","properties":{}}"""));
        });
    }

    [Test]
    public void Read_ToolChoiceFunction_RequireSpecific()
    {
        var mode = Read("""
            "tool_choice":{"type":"function","function":{"name":"f"}}
            """).ToolMode;

        Assert.That(mode, Is.EqualTo(ChatToolMode.RequireSpecific("f")));
    }

    [Test]
    public void Read_TemperatureNotNumber_ThrowsNamingTemperature()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => Read("\"temperature\":\"hot\""));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Is.EqualTo("'temperature' must be a number."));
            Assert.That(ex.Param, Is.EqualTo("temperature"));
        });
    }

    [Test]
    public void Read_MaxTokensFraction_ThrowsNamingMaxTokens()
    {
        Assert.That(Assert.Throws<InvalidRequestException>(() => Read("\"max_tokens\":1.5"))!.Message, Is.EqualTo("'max_tokens' must be an integer."));
    }

    [Test]
    public void Read_ToolOfOtherType_ThrowsNamingTheType()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => Read("""
            "tools":[{"type":"function","function":{"name":"f"}},{"type":"web_search"}]
            """));

        Assert.That(ex!.Param, Is.EqualTo("tools[1].type"));
    }

    [Test]
    public void Read_UnknownToolChoice_Throws()
    {
        Assert.That(Assert.Throws<InvalidRequestException>(() => Read("\"tool_choice\":\"sometimes\""))!.Param, Is.EqualTo("tool_choice"));
    }

    [Test]
    public void Read_EmptyToolName_ThrowsNamingTheName()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => Read("""
            "tools":[{"type":"function","function":{"name":""}}]
            """));

        Assert.That(ex!.Message, Is.EqualTo("'tools[0].function.name' is required and must be a non-empty string."));
    }

    [Test]
    public void Read_SchemaNameWithSpaces_ThrowsNamingTheName()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => Read("""
            "response_format":{"type":"json_schema","json_schema":{"name":"a b!"}}
            """));

        Assert.That(ex!.Param, Is.EqualTo("response_format.json_schema.name"));
    }
}
