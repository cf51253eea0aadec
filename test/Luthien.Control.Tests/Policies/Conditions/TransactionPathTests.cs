using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Policies.Conditions;

public class TransactionPathTests
{
    private static readonly Transaction Transaction = TestTransactions.Chat(
        """{"model":"gpt-4o","temperature":0.5,"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}""",
        ("X-Team", "blue"),
        ("Authorization", "Bearer secret"));

    [TestCase("request.payload.model", "\"gpt-4o\"")]
    [TestCase("request.payload.temperature", "0.5")]
    [TestCase("request.payload.messages.1.role", "\"user\"")]
    [TestCase("request.headers.X-Team", "\"blue\"")]
    [TestCase("request.method", "\"POST\"")]
    [TestCase("request.path", "\"chat/completions\"")]
    public void Resolve_ExistingPath_ReturnsValue(string path, string expectedJson)
    {
        var value = TransactionPath.Resolve(Transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }

    [TestCase("request.payload.messages.9.role")]
    [TestCase("request.payload.model.deeper")]
    [TestCase("request.headers.Authorization")]
    [TestCase("response.payload.id")]
    [TestCase("data.missing")]
    public void Resolve_MissingOrSecret_ReturnsNull(string path)
    {
        Assert.That(TransactionPath.Resolve(Transaction, path), Is.Null);
    }

    [Test]
    public void Resolve_DataValue_ReturnsIt()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Data.Set(new TransactionKey<int>("score"), 7);

        Assert.That(TransactionPath.Resolve(transaction, "data.score")?.GetValue<int>(), Is.EqualTo(7));
    }

    [Test]
    public void Resolve_ResponsePayload_ReadsBufferedBody()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        Assert.That(TransactionPath.Resolve(transaction, "response.payload.choices.0.finish_reason")?.GetValue<string>(), Is.EqualTo("stop"));
        Assert.That(TransactionPath.Resolve(transaction, "response.status_code")?.GetValue<int>(), Is.EqualTo(200));
    }

    [TestCase("model")]
    [TestCase("request.")]
    [TestCase("session.user")]
    public void Validate_BadPath_Throws(string path)
    {
        Assert.Throws<ArgumentException>(() => TransactionPath.Validate(path));
    }

    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.payload.input", "\"hi\"")]
    [TestCase(RequestKind.Completion, """{"model":"gpt-4o","prompt":["a"]}""", "request.payload.prompt.0", "\"a\"")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.payload.model", "\"gpt-4o\"")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.path", "\"responses\"")]
    public void Resolve_OtherApis_ReadsTheirPayload(RequestKind kind, string body, string path, string expectedJson)
    {
        var transaction = new Transaction(TransactionRequest.Parse(kind, System.Text.Encoding.UTF8.GetBytes(body)));

        var value = TransactionPath.Resolve(transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }
}
