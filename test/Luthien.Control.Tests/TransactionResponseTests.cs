using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests;

public class TransactionResponseTests
{
    private const string Completion = """{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}], "x":1}""";

    [Test]
    public void Body_PayloadOnlyRead_KeepsOriginalBytes()
    {
        var response = new TransactionResponse();
        response.SetBody(200, Encoding.UTF8.GetBytes(Completion), "application/json");

        _ = response.Payload!["choices"];

        Assert.That(Encoding.UTF8.GetString(response.Body.Span), Is.EqualTo(Completion));
    }

    [Test]
    public void Payload_ChangedAndAssigned_BodyIsTheNewPayload()
    {
        var response = new TransactionResponse();
        response.SetBody(200, Encoding.UTF8.GetBytes(Completion), "application/json");

        var payload = response.Payload!;
        payload["choices"]![0]!["message"]!["content"] = "bye";
        response.Payload = payload;

        var body = JsonNode.Parse(response.Body.Span)!;
        Assert.That(body["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("bye"));
        Assert.That(body["x"]!.GetValue<int>(), Is.EqualTo(1));
    }

    [Test]
    public void Payload_NotJson_IsNullAndBodyStays()
    {
        var response = new TransactionResponse();
        response.SetBody(200, "plain text"u8.ToArray(), "text/plain");

        Assert.That(response.Payload, Is.Null);
        Assert.That(Encoding.UTF8.GetString(response.Body.Span), Is.EqualTo("plain text"));
    }
}
