using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control.AspNetCore.Tests.Writing;

public class ErrorResponseWriterTests
{
    [Test]
    public async Task WriteAsync_NotStarted_JsonErrorWithItsStatusAndTheTransactionId()
    {
        var exchange = new TestExchange();
        var error = ErrorMapping.Map(ControlPolicyException.PolicyViolation("Rejected by policy."), clientGone: false, maxRequestBodyBytes: 1024);

        await Writer().WriteAsync(exchange.Context, "ltx-err", error);

        Assert.That(exchange.Context.Response.StatusCode, Is.EqualTo(403));
        Assert.That(exchange.Context.Response.ContentType, Is.EqualTo("application/json"));
        Assert.That(exchange.Context.Response.Headers[ResponseHead.TransactionIdHeader].ToString(), Is.EqualTo("ltx-err"));
        Assert.That(JsonNode.Parse(exchange.ResponseText)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("content_policy_violation"));
    }

    [Test]
    public async Task WriteAsync_ClientGone_WritesNothing()
    {
        var exchange = new TestExchange();
        var error = ErrorMapping.Map(new OperationCanceledException(), clientGone: true, maxRequestBodyBytes: 1024);

        await Writer().WriteAsync(exchange.Context, "ltx-err", error);

        Assert.That(exchange.ResponseBody.Length, Is.Zero);
        Assert.That(exchange.Aborted, Is.False);
    }

    [Test]
    public async Task WriteAsync_ResponseAlreadyStarted_CutsTheConnectionRatherThanFakeAnAnswer()
    {
        var exchange = new TestExchange();
        await exchange.Context.Response.Body.WriteAsync("partial"u8.ToArray());
        var error = ErrorMapping.Map(new InvalidOperationException("bug"), clientGone: false, maxRequestBodyBytes: 1024);

        await Writer().WriteAsync(exchange.Context, "ltx-err", error);

        Assert.That(exchange.Aborted, Is.True);
        Assert.That(exchange.ResponseText, Is.EqualTo("partial"));
    }

    private static ErrorResponseWriter Writer() => new(NullLogger<ErrorResponseWriter>.Instance);
}
