using System.IO.Pipelines;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests.Writing;

public class PassthroughResponseWriterTests
{
    private readonly FakeTimeProvider _clock = new();

    [Test]
    public async Task WriteAsync_Body_CopiedWithHeadAndDeclaredLength()
    {
        var exchange = new TestExchange(method: "GET", path: "/v1/models");
        var transaction = Passthrough(out var body, """{"data":[]}"""u8.ToArray());
        transaction.Response.Headers["Content-Length"] = "11";

        var failure = await Writer().WriteAsync(exchange.Context, transaction, body);

        Assert.That(failure, Is.Null);
        Assert.That(exchange.Context.Response.StatusCode, Is.EqualTo(200));
        Assert.That(exchange.Context.Response.Headers.ContentLength, Is.EqualTo(11), "a pass-through answer keeps its length");
        Assert.That(exchange.Context.Response.Headers[ResponseHead.TransactionIdHeader].ToString(), Is.EqualTo("ltx-pass"));
        Assert.That(exchange.ResponseText, Is.EqualTo("""{"data":[]}"""));
    }

    [Test]
    public void WriteAsync_BackendSilentBeforeAnyByte_ThrowsForAProperHttpError()
    {
        var exchange = new TestExchange(method: "GET", path: "/v1/models");
        var silent = new Pipe();
        var transaction = Passthrough(out _, []);

        var write = Writer().WriteAsync(exchange.Context, transaction, silent.Reader.AsStream());
        _clock.Advance(TimeSpan.FromSeconds(60));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await write);
        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendTimeout));
        Assert.That(exchange.Aborted, Is.False);
    }

    [Test]
    public async Task WriteAsync_BackendBreaksOffAfterFirstBytes_CutsTheConnectionAndReturnsTheKind()
    {
        var exchange = new TestExchange(method: "GET", path: "/v1/models");
        var backend = new Pipe();
        var transaction = Passthrough(out _, []);
        await backend.Writer.WriteAsync("{\"data\":["u8.ToArray());

        var write = Writer().WriteAsync(exchange.Context, transaction, backend.Reader.AsStream());
        await backend.Writer.CompleteAsync(new IOException("connection reset"));
        var failure = await write;

        Assert.That(failure, Is.EqualTo(ControlErrorKind.BackendUnavailable));
        Assert.That(exchange.Aborted, Is.True, "a raw body has no error event: cut, so it is not taken for whole");
        Assert.That(exchange.ResponseText, Is.EqualTo("{\"data\":["));
    }

    private PassthroughResponseWriter Writer() =>
        new(TestExchange.Monitor(), _clock, NullLogger<PassthroughResponseWriter>.Instance);

    private static Transaction Passthrough(out Stream body, byte[] bytes)
    {
        var transaction = new Transaction(TransactionRequest.ForPassthrough("GET", "models", null, null, null), "ltx-pass");
        body = new MemoryStream(bytes);
        transaction.Response.SetBodyStream(200, body, "application/json");
        return transaction;
    }
}
