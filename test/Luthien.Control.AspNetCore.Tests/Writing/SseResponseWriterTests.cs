using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using static Luthien.Control.AspNetCore.Tests.Infrastructure.TestChunks;

namespace Luthien.Control.AspNetCore.Tests.Writing;

public class SseResponseWriterTests
{
    [Test]
    public async Task WriteAsync_Chunks_EventsThenOneDoneWithStreamHeaders()
    {
        var exchange = new TestExchange();
        var transaction = Streamed(clientAsksUsage: false);

        var failure = await Writer().WriteAsync(exchange.Context, transaction, new TestChunks(Content("a"), Content("b")));

        Assert.That(failure, Is.Null);
        Assert.That(exchange.Context.Response.ContentType, Is.EqualTo("text/event-stream"));
        Assert.That(exchange.Context.Response.Headers.CacheControl.ToString(), Is.EqualTo("no-cache"));
        Assert.That(exchange.Context.Response.Headers[ResponseHead.TransactionIdHeader].ToString(), Is.EqualTo("ltx-sse"));
        Assert.That(exchange.ResponseText, Is.EqualTo($"data: {Content("a")}\n\ndata: {Content("b")}\n\ndata: [DONE]\n\n"));
    }

    [Test]
    public async Task WriteAsync_LibraryAskedForUsage_NullUsageMembersCutFromTheBytes()
    {
        var exchange = new TestExchange();
        var transaction = Streamed(clientAsksUsage: false);
        transaction.Request.Payload!["stream_options"] = new JsonObject { ["include_usage"] = true };

        await Writer().WriteAsync(exchange.Context, transaction, new TestChunks(Content("a", ",\"usage\":null")));

        Assert.That(exchange.ResponseText, Is.EqualTo($"data: {Content("a")}\n\ndata: [DONE]\n\n"));
    }

    [Test]
    public async Task WriteAsync_ClientAskedForUsage_ChunksKeepTheirBytes()
    {
        var exchange = new TestExchange();
        var transaction = Streamed(clientAsksUsage: true);

        await Writer().WriteAsync(exchange.Context, transaction, new TestChunks(Content("a", ",\"usage\":null"), Usage()));

        Assert.That(exchange.ResponseText, Is.EqualTo($"data: {Content("a", ",\"usage\":null")}\n\ndata: {Usage()}\n\ndata: [DONE]\n\n"));
    }

    [Test]
    public async Task WriteAsync_ChunksAlreadyAtHand_GoOutInOneFlush()
    {
        var exchange = new TestExchange();

        await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), new TestChunks(Content("a"), Content("b"), Content("c")));

        Assert.That(exchange.ResponseBody.Flushes, Is.EqualTo(1));
    }

    [Test]
    public async Task WriteAsync_NextChunkNotReady_FlushesWhatIsWrittenBeforeWaiting()
    {
        var exchange = new TestExchange();

        await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), new TestChunks(Content("a"), Content("b"), Content("c")) { Slow = true });

        // "a" and "b" are each flushed before the wait for the next chunk; the end was at hand after "c", which goes out
        // with [DONE].
        Assert.That(exchange.ResponseBody.Flushes, Is.EqualTo(3));
    }

    [Test]
    public async Task WriteAsync_UpstreamErrorEvent_ForwardedWithoutDone()
    {
        var exchange = new TestExchange();
        const string error = """{"error":{"message":"overloaded","type":"server_error"}}""";

        var failure = await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), new TestChunks(Content("a"), error, Content("never")));

        Assert.That(failure, Is.EqualTo(ControlErrorKind.BackendError));
        Assert.That(exchange.ResponseText, Is.EqualTo($"data: {Content("a")}\n\ndata: {error}\n\n"));
    }

    [Test]
    public async Task WriteAsync_PolicyFailsMidStream_ErrorEventNoDone()
    {
        var exchange = new TestExchange();
        var chunks = new TestChunks(Content("a")) { FailWith = new InvalidOperationException("policy bug") };

        var failure = await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), chunks);

        Assert.That(failure, Is.EqualTo(ControlErrorKind.PolicyFailure));
        Assert.That(exchange.ResponseText, Does.Contain("\"code\":\"policy_error\"").And.Not.Contain("[DONE]"));
        Assert.That(exchange.Aborted, Is.False, "a policy failure ends the stream with its event; only a backend failure cuts it");
    }

    [Test]
    public async Task WriteAsync_BackendFailsMidStream_ErrorEventThenCut()
    {
        var exchange = new TestExchange();
        var chunks = new TestChunks(Content("a")) { FailWith = BackendException.Timeout("the next chunk") };

        var failure = await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), chunks);

        Assert.That(failure, Is.EqualTo(ControlErrorKind.BackendTimeout));
        Assert.That(exchange.ResponseText, Does.Contain("\"code\":\"backend_timeout\"").And.Not.Contain("[DONE]"));
        Assert.That(exchange.Aborted, Is.True);
    }

    [Test]
    public void WriteAsync_FailsBeforeFirstChunk_ThrowsForAProperHttpError()
    {
        var exchange = new TestExchange();
        var chunks = new TestChunks() { FailWith = BackendException.Timeout("its first chunk") };

        Assert.ThrowsAsync<BackendException>(async () => await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), chunks));

        Assert.That(exchange.ResponseBody.Length, Is.Zero);
        Assert.That(exchange.Context.Response.HasStarted, Is.False);
    }

    [Test]
    public async Task WriteAsync_EveryChunk_ReleasedOnceWritten()
    {
        var exchange = new TestExchange();
        var chunks = new TestChunks(Content("a"), Content("b"));

        await Writer().WriteAsync(exchange.Context, Streamed(clientAsksUsage: false), chunks);

        Assert.That(chunks.Given, Has.Count.EqualTo(2));
        foreach (var chunk in chunks.Given)
        {
            Assert.Throws<InvalidOperationException>(() => _ = chunk.Data, "its pooled buffer went back once the pipe held the bytes");
        }
    }

    private static SseResponseWriter Writer() => new(TestExchange.Monitor(), NullLogger<SseResponseWriter>.Instance);

    private static Transaction Streamed(bool clientAsksUsage)
    {
        var options = clientAsksUsage ? ""","stream_options":{"include_usage":true}""" : string.Empty;
        var request = TransactionRequest.Parse(RequestKind.ChatCompletion, System.Text.Encoding.UTF8.GetBytes($$"""{"model":"m","stream":true{{options}},"messages":[{"role":"user","content":"hi"}]}"""));
        var transaction = new Transaction(request, "ltx-sse");
        return transaction;
    }
}
