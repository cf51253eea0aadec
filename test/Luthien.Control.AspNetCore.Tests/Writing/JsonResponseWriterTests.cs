using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Writing;

public class JsonResponseWriterTests
{
    [Test]
    public async Task WriteAsync_BufferedAnswer_StatusHeadersLengthAndBody()
    {
        var exchange = new TestExchange();
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.ChatCompletion, """{"messages":[{"role":"user","content":"hi"}]}"""u8), "ltx-json");
        transaction.Response.SetBody(429, """{"error":{"message":"slow down"}}"""u8.ToArray(), "application/json");
        transaction.Response.Headers["retry-after"] = "3";
        transaction.Response.Headers["Connection"] = "close";

        await JsonResponseWriter.WriteAsync(exchange.Context, transaction);

        var response = exchange.Context.Response;
        Assert.That(response.StatusCode, Is.EqualTo(429));
        Assert.That(response.ContentType, Is.EqualTo("application/json"));
        Assert.That(response.ContentLength, Is.EqualTo(exchange.ResponseBody.Length));
        Assert.That(response.Headers["retry-after"].ToString(), Is.EqualTo("3"));
        Assert.That(response.Headers.ContainsKey("Connection"), Is.False, "hop-by-hop headers stay on the backend's connection");
        Assert.That(response.Headers[ResponseHead.TransactionIdHeader].ToString(), Is.EqualTo("ltx-json"));
        Assert.That(exchange.ResponseText, Is.EqualTo("""{"error":{"message":"slow down"}}"""));
    }
}
