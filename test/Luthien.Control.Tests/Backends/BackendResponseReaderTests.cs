using System.IO.Compression;
using System.Text;
using NSubstitute;

namespace Luthien.Control.Tests.Backends;

public class BackendResponseReaderTests
{
    private const string Answer = """{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""";

    [Test]
    public async Task ApplyAsync_JsonAnswer_IsBuffered()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await ApplyAsync(transaction, 200, "application/json", Encoding.UTF8.GetBytes(Answer));

        Assert.That(Encoding.UTF8.GetString(transaction.Response.Body.Span), Is.EqualTo(Answer));
    }

    [Test]
    public async Task ReadBoundedAsync_BackendSilentMidBody_Throws504()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var body = new SilentAfterStream(Encoding.UTF8.GetBytes("{\"id\":"));
        var read = BackendResponseReader.ReadBoundedAsync(body, null, 1024, TimeSpan.FromSeconds(60), time, default);
        await body.Waiting.Task;

        time.Advance(TimeSpan.FromSeconds(61));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await read);
        Assert.That(ex!.Code, Is.EqualTo("backend_timeout"));
        Assert.That(body.Disposed, Is.False, "the caller owns the body");
    }

    [TestCase("not json")]
    [TestCase(Answer + " trailing")]
    [TestCase("[" + Answer + "]")]
    [TestCase("""{"id":"a","id":"b"}""")]
    [TestCase("""{"choices":[{"message":{"content":"\ud800"}}]}""")]
    public void ApplyAsync_UnreadableAnswer_Throws502InvalidResponse(string body)
    {
        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(TestTransactions.ChatWithText("hi"), 200, "application/json", Encoding.UTF8.GetBytes(body)));

        Assert.That(ex!.StatusCode, Is.EqualTo(502));
        Assert.That(ex.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ApplyAsync_AnswerDeeperThanLibraryReads_Throws502InvalidResponse()
    {
        var body = """{"choices":[],"x":""" + new string('[', 70) + new string(']', 70) + "}";

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(TestTransactions.ChatWithText("hi"), 200, "application/json", Encoding.UTF8.GetBytes(body)));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ApplyAsync_InvalidUtf8InAnswer_Throws502InvalidResponse()
    {
        byte[] body = [.. """{"choices":[{"message":{"content":"x"""u8, 0xFF, .. "\"}}]}"u8];

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(TestTransactions.ChatWithText("hi"), 200, "application/json", body));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task ApplyAsync_BackendErrorNotJson_PassesAsItIs()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await ApplyAsync(transaction, 503, "text/html", "<html>down</html>"u8.ToArray());

        Assert.That(transaction.Response.StatusCode, Is.EqualTo(503));
        Assert.That(Encoding.UTF8.GetString(transaction.Response.Body.Span), Is.EqualTo("<html>down</html>"));
    }

    [TestCase("gzip")]
    [TestCase("deflate")]
    [TestCase("br")]
    public async Task ApplyAsync_CompressedAnswer_IsDecodedAndEncodingHeaderDropped(string encoding)
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.Headers["Content-Encoding"] = encoding;

        await ApplyAsync(transaction, 200, "application/json", Compress(Encoding.UTF8.GetBytes(Answer), encoding));

        Assert.That(Encoding.UTF8.GetString(transaction.Response.Body.Span), Is.EqualTo(Answer));
        Assert.That(transaction.Response.Headers.ContainsKey("Content-Encoding"), Is.False);
    }

    [Test]
    public void ApplyAsync_UnknownEncoding_Throws502InvalidResponse()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.Headers["Content-Encoding"] = "zstd";

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ApplyAsync(transaction, 200, "application/json", Encoding.UTF8.GetBytes(Answer)));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ApplyAsync_GzipBomb_Throws502BeforeHoldingMoreThanTheLimit()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.Headers["Content-Encoding"] = "gzip";
        var bomb = Compress(new byte[64 * 1024 * 1024], "gzip");
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(transaction, 200, "application/json", bomb, maxResponseBytes: 1024 * 1024));

        Assert.That(ex!.StatusCode, Is.EqualTo(502));
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(16 * 1024 * 1024));
    }

    [Test]
    public void ApplyAsync_StreamRequestAnsweredWithHtml_Throws502InvalidResponse()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ApplyAsync(transaction, 200, "text/html", "<html></html>"u8.ToArray()));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void ApplyAsync_NonStreamRequestAnsweredWithEventStream_Throws502InvalidResponse()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(transaction, 200, "text/event-stream", "data: {}\n\n"u8.ToArray()));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task ApplyAsync_PassthroughNotJson_KeepsTheBodyStream()
    {
        var transaction = TestTransactions.Passthrough();

        await ApplyAsync(transaction, 200, "text/html", "<html></html>"u8.ToArray());

        Assert.That(transaction.Response.BodyStream, Is.Not.Null);
    }

    private static async Task ApplyAsync(Transaction transaction, int status, string contentType, byte[] body, long maxResponseBytes = 64 * 1024 * 1024)
    {
        var options = new LuthienOptions { Limits = { MaxResponseBodyBytes = maxResponseBytes } };
        await BackendResponseReader.ApplyAsync(
            transaction, status, contentType, body.Length, new MemoryStream(body), Substitute.For<IDisposable>(), options,
            Substitute.For<IStreamingResponseReader>(), TimeProvider.System, CancellationToken.None);
    }

    private static byte[] Compress(byte[] data, string encoding)
    {
        var output = new MemoryStream();
        using (Stream compressor = encoding switch
        {
            "gzip" => new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true),
            "deflate" => new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true),
            _ => new BrotliStream(output, CompressionLevel.Fastest, leaveOpen: true),
        })
        {
            compressor.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>Serves its bytes, then waits until cancelled, like a backend gone silent.</summary>
    private sealed class SilentAfterStream(byte[] data) : MemoryStream(data)
    {
        public TaskCompletionSource Waiting { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Disposed { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                return read;
            }

            Waiting.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }
}
