using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ChatRequestJsonTests
{
    [Test]
    public void ToPayload_Stream_SetsStreamAndIncludeUsage()
    {
        var payload = ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], null, stream: true);

        Assert.That(payload.Text(), Is.EqualTo(
            """{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"""));
    }

    [Test]
    public void ToPayload_NullModelId_NoModelMember()
    {
        var payload = ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], new ChatOptions(), stream: false);

        Assert.That(payload.ContainsKey("model"), Is.False);
    }

    [Test]
    public void ToPayload_ModelId_ModelFirst()
    {
        var payload = ChatRequestJson.ToPayload([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ModelId = "gpt-4o" }, stream: false);

        Assert.That(payload.First().Key, Is.EqualTo("model"));
        Assert.That(payload["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o"));
    }

    [Test]
    public void ToPayload_ThenToMessagesThenToPayload_SamePayload()
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, "rules"),
            new(ChatRole.User, [
                new TextContent("what is \"this\"?\n</script> \U0001F600"),
                new UriContent(new Uri("https://example.com/a.png"), "image/png"),
                new DataContent(new byte[] { 1, 2, 3 }, "image/jpeg"),
                new DataContent(new byte[] { 4, 5 }, "audio/wav"),
                new DataContent(new byte[] { 6 }, "application/pdf") { Name = "a.pdf" },
            ]) { AuthorName = "ann" },
            new(ChatRole.Assistant, [
                new TextContent("calling"),
                new FunctionCallContent("call_1", "lookup", new Dictionary<string, object?>
                {
                    ["q"] = "x", ["n"] = 1.5, ["nested"] = new Dictionary<string, object?> { ["a"] = new[] { 1, 2 } },
                }),
                new FunctionCallContent("call_2", "now"),
            ]),
            new(ChatRole.Tool, [new FunctionResultContent("call_1", "found"), new FunctionResultContent("call_2", 42)]),
            new(ChatRole.Assistant, ""),
        };
        var options = new ChatOptions
        {
            ModelId = "m",
            Temperature = 0.5f,
            TopP = 0.9f,
            MaxOutputTokens = 100,
            StopSequences = ["END"],
            Seed = 7,
            FrequencyPenalty = 0.1f,
            PresencePenalty = 0.2f,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse("""{"type":"object"}""").RootElement, "answer", "the answer"),
            Tools = [AIFunctionFactory.Create((string city) => "sunny", "get_weather", "Weather of a city")],
            ToolMode = ChatToolMode.RequireSpecific("get_weather"),
            AllowMultipleToolCalls = false,
        };
        var first = ChatRequestJson.ToPayload(messages, options, stream: true);

        var second = ChatRequestJson.ToPayload(ChatRequestJson.ToMessages(first), ChatRequestJson.ToOptions(first), stream: true);

        Assert.That(second.Text(), Is.EqualTo(first.Text()));
    }

    [Test]
    public void ToMessages_PayloadWithoutMessages_ThrowsNamingMessages()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => ChatRequestJson.ToMessages(new JsonObject { ["model"] = "m" }));

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Is.EqualTo("'messages' is required and must be a non-empty array."));
            Assert.That(ex.Param, Is.EqualTo("messages"));
        });
    }

    [Test]
    public void ToOptions_UnknownMember_KeptAsJsonElement()
    {
        var options = ChatRequestJson.ToOptions(JsonNode.Parse("""{"messages":[],"user":"u1"}""")!.AsObject());

        Assert.That(((JsonElement)options.AdditionalProperties!["user"]!).GetString(), Is.EqualTo("u1"));
    }
}
