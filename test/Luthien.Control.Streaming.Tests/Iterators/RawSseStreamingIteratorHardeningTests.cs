using System.Text;
using Luthien.Control.Streaming;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Streaming.Tests.Iterators;

/// <summary>What a backend can do to the SSE reader: keep-alives, silence before the first event, endless events.</summary>
public class RawSseStreamingIteratorHardeningTests
{
    private const string Chunk = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}""";

    [Test]
    public async Task ReadAsync_KeepAliveCommentsBetweenEvents_AreActivityNotSilence()
    {
        var time = new FakeTimeProvider();
        var body = new ScriptedStream();
        var enumerator = Create(body, time).GetAsyncEnumerator();
        body.Send($"data: {Chunk}\n\n");
        Assert.That(await enumerator.MoveNextAsync(), Is.True);

        // A reasoning model thinks for three minutes and sends a keep-alive every 40 s (idle timeout 60 s).
        var next = enumerator.MoveNextAsync().AsTask();
        for (var i = 0; i < 4; i++)
        {
            await body.WaitForReadAsync();
            time.Advance(TimeSpan.FromSeconds(40));
            body.Send(": keep-alive\n\n");
        }

        await body.WaitForReadAsync();
        body.Send($"data: {Chunk}\n\n");

        Assert.That(await next.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, "the keep-alives kept the stream alive");
    }

    [Test]
    public async Task ReadAsync_KeepAlivesBeforeFirstEvent_DoNotExtendFirstChunkTimeout()
    {
        var time = new FakeTimeProvider();
        var body = new ScriptedStream();
        var first = Create(body, time).GetAsyncEnumerator().MoveNextAsync().AsTask();

        // Keep-alives every 15 s, never an event: the first-chunk deadline (60 s) still holds.
        for (var i = 0; i < 3; i++)
        {
            await body.WaitForReadAsync();
            time.Advance(TimeSpan.FromSeconds(15));
            body.Send(": keep-alive\n\n");
        }

        await body.WaitForReadAsync();
        time.Advance(TimeSpan.FromSeconds(16));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await first);
        Assert.That(ex!.Code, Is.EqualTo("backend_timeout"));
    }

    [Test]
    public void ReadAsync_EventWithoutEnd_FailsBeforeBufferingMoreThanTheLimit()
    {
        // 64 MiB of one line that never ends; the limit is 64 KiB.
        var body = new EndlessLineStream(64L * 1024 * 1024);
        var iterator = new RawSseStreamingIterator(body, null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), 64 * 1024, TimeProvider.System);

        var ex = Assert.ThrowsAsync<BackendException>(async () =>
        {
            await foreach (var _ in iterator)
            {
            }
        });

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
        Assert.That(body.Served, Is.LessThan(2 * 64 * 1024), "bytes read from the backend before the event was refused");
    }

    [Test]
    public async Task ReadAsync_ManyEventsTogetherLargerThanLimit_AreNotOneEvent()
    {
        // Events are counted one by one: a read that holds many small events is fine however large it is.
        var sse = string.Concat(Enumerable.Repeat($"data: {Chunk}\r\n\r\n", 200)) + "data: [DONE]\r\n\r\n";
        var iterator = new RawSseStreamingIterator(new MemoryStream(Encoding.UTF8.GetBytes(sse)), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), 1024, TimeProvider.System);

        var count = 0;
        await foreach (var chunk in iterator)
        {
            count++;
            chunk.Release();
        }

        Assert.That(count, Is.EqualTo(200));
    }

    private static RawSseStreamingIterator Create(Stream body, TimeProvider time) =>
        new(body, null, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(60), 1024 * 1024, time);

    /// <summary>A body the test feeds piece by piece; a read waits until the next piece.</summary>
    private sealed class ScriptedStream : AsyncReadOnlyStream
    {
        private readonly Queue<byte[]> _pieces = new();
        private TaskCompletionSource<bool> _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Send(string text)
        {
            lock (_pieces)
            {
                _pieces.Enqueue(Encoding.UTF8.GetBytes(text));
                _sent.TrySetResult(true);
            }
        }

        public async Task WaitForReadAsync()
        {
            // Bounded, so a reader that stopped reading fails the test instead of hanging it.
            await _reading.Task.WaitAsync(TimeSpan.FromSeconds(10));
            _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                Task<bool> sent;
                lock (_pieces)
                {
                    if (_pieces.TryDequeue(out var piece))
                    {
                        piece.CopyTo(buffer);
                        return piece.Length;
                    }

                    _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    sent = _sent.Task;
                }

                _reading.TrySetResult();
                await sent.WaitAsync(cancellationToken);
            }
        }

    }

    /// <summary><c>data: </c> and then up to <c>length</c> bytes of one line that never ends; counts what was served.</summary>
    private sealed class EndlessLineStream(long length) : AsyncReadOnlyStream
    {
        public long Served { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Served >= length)
            {
                return ValueTask.FromResult(0);
            }

            var n = (int)Math.Min(Math.Min(buffer.Length, 16 * 1024), length - Served);
            var span = buffer.Span[..n];
            span.Fill((byte)'a');
            if (Served == 0)
            {
                "data: "u8.CopyTo(span);
            }

            Served += n;
            return ValueTask.FromResult(n);
        }

    }

    /// <summary>A stream that is only read asynchronously, as the SSE reader reads a backend body.</summary>
    private abstract class AsyncReadOnlyStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
