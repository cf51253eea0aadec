
namespace Luthien.Control.Tests.Transport;

public class BoundedBodyReaderTests
{
    private const long Limit = 10 * 1024 * 1024;

    [Test]
    public async Task ReadAsync_BodyInManyPieces_ReturnsEveryByte()
    {
        var source = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var stream = new PiecewiseStream(source, 7000);

        using var body = await BoundedBodyReader.ReadAsync(stream, null, Limit, TooLarge, Truncated, CancellationToken.None);

        Assert.That(body.Span.SequenceEqual(source), Is.True);
    }

    [Test]
    public void ReadAsync_DeclaredLengthOverLimit_ThrowsWithoutReading()
    {
        var stream = new PiecewiseStream(new byte[16], 16);

        Assert.ThrowsAsync<TooLargeException>(async () =>
            await BoundedBodyReader.ReadAsync(stream, Limit + 1, Limit, TooLarge, Truncated, CancellationToken.None));

        Assert.That(stream.Reads, Is.Zero);
    }

    [Test]
    public void ReadAsync_UndeclaredBodyOverLimit_Throws()
    {
        var stream = new MemoryStream(new byte[2048]);

        Assert.ThrowsAsync<TooLargeException>(async () => await BoundedBodyReader.ReadAsync(stream, null, 1024, TooLarge, Truncated, CancellationToken.None));
    }

    [Test]
    public void ReadAsync_UndeclaredBodyOverLimit_ReadsNoMoreThanOneBytePastIt()
    {
        var stream = new MemoryStream(new byte[64 * 1024]);

        Assert.ThrowsAsync<TooLargeException>(async () => await BoundedBodyReader.ReadAsync(stream, null, 1024, TooLarge, Truncated, CancellationToken.None));

        Assert.That(stream.Position, Is.EqualTo(1025));
    }

    [Test]
    public async Task ReadAsync_BodyExactlyAtLimit_ReturnsIt()
    {
        var stream = new MemoryStream(new byte[1024]);

        using var body = await BoundedBodyReader.ReadAsync(stream, null, 1024, TooLarge, Truncated, CancellationToken.None);

        Assert.That(body.Length, Is.EqualTo(1024));
    }

    [Test]
    public void ReadAsync_BodyShorterThanDeclared_ThrowsTruncated()
    {
        var stream = new MemoryStream(new byte[100]);

        Assert.ThrowsAsync<TruncatedException>(async () => await BoundedBodyReader.ReadAsync(stream, 200, Limit, TooLarge, Truncated, CancellationToken.None));
    }

    [Test]
    public void ReadAsync_LargeDeclaredLengthSmallBody_AllocatesOnlyForWhatArrived()
    {
        // Synchronous reads keep the whole call on this thread, so the thread's allocation counter sees all of it.
        var stream = new MemoryStream(new byte[1024]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.ThrowsAsync<TruncatedException>(async () => await BoundedBodyReader.ReadAsync(stream, Limit, Limit, TooLarge, Truncated, CancellationToken.None));

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(256 * 1024));
    }

    [Test]
    public async Task DetachMemory_BodyOverPoolSize_HandsOverTheArrayWithoutCopy()
    {
        var stream = new MemoryStream(new byte[3 * BodyBuffer.MaxPooledBytes]);
        using var body = await BoundedBodyReader.ReadAsync(stream, null, Limit, TooLarge, Truncated, CancellationToken.None);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var memory = body.DetachMemory();

        Assert.That(memory.Length, Is.EqualTo(3 * BodyBuffer.MaxPooledBytes));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024));
    }

    private static TooLargeException TooLarge(long limit) => new();

    private static TruncatedException Truncated() => new();

    private sealed class TooLargeException : Exception;

    private sealed class TruncatedException : Exception;

    /// <summary>Hands out at most <c>piece</c> bytes per read, and counts the reads.</summary>
    private sealed class PiecewiseStream(byte[] data, int piece) : MemoryStream(data)
    {
        public int Reads { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            return base.ReadAsync(buffer[..Math.Min(buffer.Length, piece)], cancellationToken);
        }
    }
}
