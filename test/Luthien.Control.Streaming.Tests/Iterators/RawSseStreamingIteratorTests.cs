using System.Text;
using Luthien.Control.Streaming;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Streaming.Tests.Iterators;

public class RawSseStreamingIteratorTests
{
    private const string Chunk1 = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hé"},"finish_reason":null}],"x_vendor":{"a":1}}""";
    private const string Chunk2 = """{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""";

    private static RawSseStreamingIterator Create(Stream body, TimeProvider? time = null, int maxEventBytes = 1 << 20) =>
        new(body, null, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), maxEventBytes, time ?? TimeProvider.System);

    private static async Task<List<string>> ReadAllAsync(StreamingResponseIterator iterator)
    {
        var result = new List<string>();
        await foreach (var chunk in iterator)
        {
            result.Add(Encoding.UTF8.GetString(chunk.Data.Span));
        }

        return result;
    }

    [Test]
    public async Task ReadAsync_ResponsesStreamEndingWithItsLastEvent_EndsWellAndReadsNothingAfter()
    {
        const string delta = """{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"hi"}""";
        const string completed = """{"type":"response.completed","response":{"status":"completed"}}""";
        var sse = $"event: response.output_text.delta\ndata: {delta}\n\nevent: response.completed\ndata: {completed}\n\ndata: {delta}\n\n";
        var iterator = new RawSseStreamingIterator(new MemoryStream(Encoding.UTF8.GetBytes(sse)), null, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), 1 << 20, TimeProvider.System) { EndsAtLastEvent = true };

        var chunks = await ReadAllAsync(iterator);

        Assert.That(chunks, Is.EqualTo(new[] { delta, completed }));
    }

    [Test]
    public async Task ReadAsync_ResponsesEventLineSaysLastOverADelta_ReadOnByTheDatasType()
    {
        // Clients act on the data's type: an event line claiming the end over a delta does not end the answer there.
        const string delta = """{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"hi"}""";
        const string completed = """{"type":"response.completed","response":{"status":"completed"}}""";
        var sse = $"event: response.completed\ndata: {delta}\n\nevent: response.completed\ndata: {completed}\n\n";
        var iterator = new RawSseStreamingIterator(new MemoryStream(Encoding.UTF8.GetBytes(sse)), null, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), 1 << 20, TimeProvider.System) { EndsAtLastEvent = true };

        var chunks = await ReadAllAsync(iterator);

        Assert.That(chunks, Is.EqualTo(new[] { delta, completed }));
    }

    [Test]
    public void ReadAsync_ResponsesStreamEndingBeforeItsLastEvent_EndedEarly()
    {
        const string delta = """{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"hi"}""";
        var iterator = new RawSseStreamingIterator(new MemoryStream(Encoding.UTF8.GetBytes($"data: {delta}\n\n")), null, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), 1 << 20, TimeProvider.System) { EndsAtLastEvent = true };

        Assert.ThrowsAsync<BackendException>(() => ReadAllAsync(iterator));
    }

    [TestCase("data: {0}\n\ndata: {1}\n\ndata: [DONE]\n\n", TestName = "ReadAsync_CanonicalFraming_YieldsExactBytes")]
    [TestCase("data: {0}\r\n\r\ndata: {1}\r\n\r\ndata: [DONE]\r\n\r\n", TestName = "ReadAsync_CrLfFraming_YieldsExactBytes")]
    [TestCase("\uFEFFdata: {0}\n\ndata: {1}\n\ndata: [DONE]\n\n", TestName = "ReadAsync_ByteOrderMark_YieldsExactBytes")]
    [TestCase("data:{0}\n\ndata:{1}\n\ndata:[DONE]\n\n", TestName = "ReadAsync_DataWithoutSpace_YieldsExactBytes")]
    [TestCase(": keep-alive\n\ndata: {0}\n\n: ping\ndata: {1}\n\ndata: [DONE]\n\n", TestName = "ReadAsync_Comments_AreSkipped")]
    [TestCase("data: {0}\r\rdata: {1}\r\rdata: [DONE]\r\r", TestName = "ReadAsync_CrOnlyFraming_YieldsExactBytes")]
    public async Task ReadAsync_FramingVariant_YieldsChunksUnchanged(string template)
    {
        var sse = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Chunk1, Chunk2);

        var chunks = await ReadAllAsync(Create(new MemoryStream(Encoding.UTF8.GetBytes(sse))));

        Assert.That(chunks, Is.EqualTo(new[] { Chunk1, Chunk2 }));
    }

    [Test]
    public async Task ReadAsync_MultiLineData_JoinsLinesWithNewline()
    {
        var sse = "data: {\"a\":\ndata: 1}\n\ndata: [DONE]\n\n";

        var chunks = await ReadAllAsync(Create(new MemoryStream(Encoding.UTF8.GetBytes(sse))));

        Assert.That(chunks, Is.EqualTo(new[] { "{\"a\":\n1}" }));
    }

    [Test]
    public async Task ReadAsync_Utf8SplitInsideCodePoint_DecodesWhole()
    {
        var bytes = Encoding.UTF8.GetBytes($"data: {Chunk1}\n\ndata: [DONE]\n\n");

        var chunks = await ReadAllAsync(Create(new TricklingStream(bytes)));

        Assert.That(chunks, Is.EqualTo(new[] { Chunk1 }));
    }

    [Test]
    public async Task ReadAsync_EventType_IsKept()
    {
        var sse = "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n";

        await foreach (var chunk in Create(new MemoryStream(Encoding.UTF8.GetBytes(sse))))
        {
            Assert.That(chunk.EventType, Is.EqualTo("error"));
            Assert.That(chunk.IsError, Is.True);
        }
    }

    [Test]
    public void ReadAsync_EndsWithoutDone_Throws502()
    {
        var iterator = Create(new MemoryStream(Encoding.UTF8.GetBytes($"data: {Chunk1}\n\n")));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ReadAllAsync(iterator));

        Assert.That(ex!.Code, Is.EqualTo("backend_unavailable"));
    }

    [Test]
    public void ReadAsync_ConnectionBreaks_Throws502()
    {
        var iterator = Create(new BreakingStream(Encoding.UTF8.GetBytes($"data: {Chunk1}\n\n")));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ReadAllAsync(iterator));

        Assert.That(ex!.Code, Is.EqualTo("backend_unavailable"));
    }

    [Test]
    public void ReadAsync_EventOverLimit_Throws()
    {
        var iterator = Create(new MemoryStream(Encoding.UTF8.GetBytes($"data: {Chunk1}\n\ndata: [DONE]\n\n")), maxEventBytes: 10);

        var ex = Assert.ThrowsAsync<BackendException>(async () => await ReadAllAsync(iterator));

        Assert.That(ex!.Message, Does.Contain("limit"));
    }

    [Test]
    public async Task ReadAsync_SilentPastIdleTimeout_Throws504()
    {
        var time = new FakeTimeProvider();
        var body = new HangingStream(Encoding.UTF8.GetBytes($"data: {Chunk1}\n\n"));
        var iterator = Create(body, time);
        var enumerator = iterator.GetAsyncEnumerator();
        Assert.That(await enumerator.MoveNextAsync(), Is.True);

        var next = enumerator.MoveNextAsync().AsTask();
        await body.Hanging.Task;
        time.Advance(TimeSpan.FromSeconds(61));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await next);
        Assert.That(ex!.Code, Is.EqualTo("backend_timeout"));
    }

    [Test]
    public async Task ReadAsync_SlowConsumerWithDataWaiting_IsNotATimeout()
    {
        var time = new FakeTimeProvider();
        // One byte per read, so the next event still has to be read from the connection after the pause.
        var body = new TricklingStream(Encoding.UTF8.GetBytes($"data: {Chunk1}\n\ndata: {Chunk2}\n\ndata: [DONE]\n\n"));
        var enumerator = Create(body, time).GetAsyncEnumerator();
        Assert.That(await enumerator.MoveNextAsync(), Is.True);

        // The client is slow to take the next chunk; the backend has already sent it.
        time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(await enumerator.MoveNextAsync(), Is.True);
        Assert.That(Encoding.UTF8.GetString(enumerator.Current.Data.Span), Is.EqualTo(Chunk2));
        Assert.That(await enumerator.MoveNextAsync(), Is.False);
    }

    [Test]
    public void GetAsyncEnumerator_SecondTime_Throws()
    {
        var iterator = Create(new MemoryStream());
        _ = iterator.GetAsyncEnumerator();

        Assert.Throws<InvalidOperationException>(() => iterator.GetAsyncEnumerator());
    }

    [Test]
    public async Task DisposeAsync_DisposesOwner()
    {
        var owner = new TrackingDisposable();
        var iterator = new RawSseStreamingIterator(new MemoryStream(), owner, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 1024, TimeProvider.System);

        await iterator.DisposeAsync();

        Assert.That(owner.Disposed, Is.True);
    }

    /// <summary>Returns one byte per read, so every multi-byte character is split across reads.</summary>
    private sealed class TricklingStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    /// <summary>Serves its data, then fails like a dropped connection.</summary>
    private sealed class BreakingStream(byte[] data) : MemoryStream(data)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            return read > 0 ? read : throw new IOException("The connection was reset.");
        }
    }

    /// <summary>Serves its data, then waits until cancelled.</summary>
    private sealed class HangingStream(byte[] data) : MemoryStream(data)
    {
        public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                return read;
            }

            Hanging.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }
    }

    private sealed class TrackingDisposable : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
