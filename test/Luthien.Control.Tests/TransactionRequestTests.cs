namespace Luthien.Control.Tests;

public class TransactionRequestTests
{
    [TestCase("Authorization", "Bearer k-1", "k-1")]
    [TestCase("Authorization", "bearer k-2", "k-2")]
    [TestCase("api-key", "k-3", "k-3")]
    [TestCase("Authorization", "Basic abc", null)]
    [TestCase("Authorization", "Bearer  ", null)]
    [TestCase("X-Other", "k", null)]
    public void ClientApiKey_Header_ReadsKey(string header, string value, string? expected)
    {
        var transaction = TestTransactions.ChatWithText("hi", (header, value));

        Assert.That(transaction.Request.ClientApiKey, Is.EqualTo(expected));
    }

    [Test]
    public void GetRedactedHeaders_Credentials_AreHidden()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer secret-value"), ("api-key", "other-secret"), ("User-Agent", "ua"));

        var headers = transaction.Request.GetRedactedHeaders();

        Assert.That(headers["Authorization"], Is.EqualTo("***"));
        Assert.That(headers["api-key"], Is.EqualTo("***"));
        Assert.That(headers["User-Agent"], Is.EqualTo("ua"));
    }

    [Test]
    public void Model_SetOnChat_ChangesTheBody()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        transaction.Request.Model = "other";

        Assert.That(transaction.Request.Payload!["model"]!.GetValue<string>(), Is.EqualTo("other"));
    }

    [Test]
    public void Model_SetOnPassthrough_Throws()
    {
        var transaction = TestTransactions.Passthrough();

        Assert.That(transaction.Request.Model, Is.Null);
        Assert.That(transaction.Request.Payload, Is.Null);
        Assert.That(transaction.Request.IsStreaming, Is.False);
        Assert.Throws<InvalidOperationException>(() => transaction.Request.Model = "m");
    }

    [Test]
    public void EnumerateTexts_ChatWithStringAndParts_EveryText()
    {
        var transaction = TestTransactions.Chat("""
            {"model":"m","messages":[{"role":"system","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"image_url","image_url":{"url":"x"}}]}]}
            """);

        Assert.That(transaction.Request.EnumerateTexts(), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void ClientApiKey_EmptyBearerAndApiKey_ReadsApiKey()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer "), ("api-key", "k-4"));

        Assert.That(transaction.Request.ClientApiKey, Is.EqualTo("k-4"));
    }

    [Test]
    public void ClientApiKey_TwoApiKeyValues_None()
    {
        var headers = new HttpHeaderDictionary { ["api-key"] = new Microsoft.Extensions.Primitives.StringValues(["a", "b"]) };
        var request = TransactionRequest.Parse(RequestKind.ChatCompletion, """{"messages":[{"role":"user","content":"hi"}]}"""u8, headers);

        Assert.That(request.ClientApiKey, Is.Null, "which of two keys is meant is unclear: neither");
    }

    [Test]
    public void Model_SetNull_RemovesTheField()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        transaction.Request.Model = null;

        Assert.That(transaction.Request.Payload!.ContainsKey("model"), Is.False);
    }

    [Test]
    public void Model_SetOnResponses_ChangesTheBody()
    {
        var request = TransactionRequest.Parse(RequestKind.Responses, """{"model":"a","input":"hi"}"""u8);

        request.Model = "b";

        Assert.That(request.Payload!["model"]!.GetValue<string>(), Is.EqualTo("b"));
    }

    [Test]
    public void EnumerateTexts_ResponsesInstructionsAndStringInput_Both()
    {
        var request = TransactionRequest.Parse(RequestKind.Responses, """{"model":"m","instructions":"be brief","input":"hello"}"""u8);

        Assert.That(request.EnumerateTexts(), Is.EqualTo(new[] { "be brief", "hello" }));
    }

    [Test]
    public void EnumerateTexts_ResponsesInputItems_EveryTextTheClientSends()
    {
        var request = TransactionRequest.Parse(RequestKind.Responses, """
            {"model":"m","input":[
              {"role":"user","content":"plain"},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"part"},{"type":"input_image","image_url":"x"}]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"earlier answer"},{"type":"refusal","refusal":"no"}]},
              {"type":"function_call","call_id":"c1","name":"f","arguments":"{\"q\":1}"},
              {"type":"function_call_output","call_id":"c1","output":"tool said"},
              {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"tool part"}]},
              {"type":"custom_tool_call","call_id":"c3","name":"g","input":"raw input"},
              {"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":"thought"}]},
              42
            ]}
            """u8);

        Assert.That(request.EnumerateTexts(), Is.EqualTo(new[]
        {
            "plain", "part", "earlier answer", "no", """{"q":1}""", "tool said", "tool part", "raw input", "thought",
        }));
    }

    [TestCase("""{"model":"m","prompt":"one"}""", new[] { "one" })]
    [TestCase("""{"model":"m","prompt":["one","two"]}""", new[] { "one", "two" })]
    [TestCase("""{"model":"m","prompt":[[1,2],[3]]}""", new string[0])]
    [TestCase("""{"model":"m","prompt":"one","suffix":"end"}""", new[] { "one", "end" })]
    public void EnumerateTexts_LegacyPrompt_StringsOnly(string body, string[] expected)
    {
        var request = TransactionRequest.Parse(RequestKind.Completion, System.Text.Encoding.UTF8.GetBytes(body));

        Assert.That(request.EnumerateTexts(), Is.EqualTo(expected));
    }

    [Test]
    public void EnumerateTexts_Passthrough_Nothing()
    {
        Assert.That(TestTransactions.Passthrough().Request.EnumerateTexts(), Is.Empty);
    }
}
