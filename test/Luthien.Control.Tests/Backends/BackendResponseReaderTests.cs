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

    [TestCase("application/json; charset=utf-16")]
    [TestCase("application/json; charset=iso-8859-1")]
    [TestCase("application/json; charset=\"UTF-32\"")]
    [TestCase("application/json; charset=utf-8; charset=utf-16")]
    [TestCase("text/plain; charset=windows-1252")]
    public void ApplyAsync_BufferedAnswerInAnotherCharset_Throws502InvalidResponse(string contentType)
    {
        // The bytes would parse as UTF-8 JSON: the declared charset alone says they mean other text.
        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(TestTransactions.ChatWithText("hi"), 200, contentType, Encoding.UTF8.GetBytes(Answer)));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
        Assert.That(ex.Message, Does.Contain("charset other than UTF-8"));
    }

    [TestCase("application/json")]
    [TestCase("application/json; charset=utf-8")]
    [TestCase("application/json; charset=\"UTF-8\"")]
    [TestCase("application/json;charset=utf8")]
    [TestCase("text/plain")]
    public async Task ApplyAsync_BufferedAnswerUtf8OrNoCharset_ServedAsApplicationJson(string contentType)
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await ApplyAsync(transaction, 200, contentType, Encoding.UTF8.GetBytes(Answer));

        Assert.That(transaction.Response.ContentType, Is.EqualTo("application/json"));
        Assert.That(Encoding.UTF8.GetString(transaction.Response.Body.Span), Is.EqualTo(Answer));
    }

    [TestCase("text/event-stream; charset=utf-16")]
    [TestCase("text/event-stream; charset=us-ascii")]
    public void ApplyAsync_StreamInAnotherCharset_Throws502InvalidResponse(string contentType)
    {
        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await ApplyAsync(TestTransactions.Completion(stream: true), 200, contentType, "data: {}\n\n"u8.ToArray()));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [TestCase("text/event-stream")]
    [TestCase("text/event-stream; charset=utf-8")]
    [TestCase("Text/Event-Stream; Charset=UTF-8")]
    public async Task ApplyAsync_StreamUtf8OrNoCharset_IsRead(string contentType)
    {
        var transaction = TestTransactions.Completion(stream: true);

        await ApplyAsync(transaction, 200, contentType, "data: {}\n\n"u8.ToArray());

        Assert.That(transaction.Response.StatusCode, Is.EqualTo(200));
        Assert.That(transaction.Response.ContentType, Is.EqualTo("text/event-stream"));
    }

    [Test]
    public async Task ApplyAsync_BackendErrorInAnotherCharset_PassedAsItCame()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var body = Encoding.Unicode.GetBytes("""{"error":{"message":"busy"}}""");

        await ApplyAsync(transaction, 503, "application/json; charset=utf-16", body);

        Assert.That(transaction.Response.StatusCode, Is.EqualTo(503));
        Assert.That(transaction.Response.ContentType, Is.EqualTo("application/json; charset=utf-16"));
        Assert.That(transaction.Response.Body.ToArray(), Is.EqualTo(body));
    }

    [Test]
    public async Task ApplyAsync_PassthroughInAnotherCharset_PassedAsItCame()
    {
        var transaction = TestTransactions.Passthrough();

        await ApplyAsync(transaction, 200, "application/json; charset=utf-16", Encoding.Unicode.GetBytes("{}"));

        Assert.That(transaction.Response.ContentType, Is.EqualTo("application/json; charset=utf-16"));
        Assert.That(transaction.Response.BodyStream, Is.Not.Null);
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
