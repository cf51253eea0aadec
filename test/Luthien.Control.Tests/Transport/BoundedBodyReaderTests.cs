using Luthien.Control.Transport;

namespace Luthien.Control.Tests.Transport;

public class BoundedBodyReaderTests
{
    private const long Limit = 10 * 1024 * 1024;

    [Test]
    public async Task ReadAsync_BodyInManyPieces_ReturnsEveryByte()
    {
        var source = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        var stream = new MemoryStream(source);

        using var body = await BoundedBodyReader.ReadAsync(m => stream.ReadAsync(m[..Math.Min(m.Length, 7000)]), null, Limit, TooLarge, Truncated);

        Assert.That(body.Span.SequenceEqual(source), Is.True);
    }

    [Test]
    public void ReadAsync_DeclaredLengthOverLimit_ThrowsWithoutReading()
    {
        var reads = 0;

        Assert.ThrowsAsync<TooLargeException>(async () =>
            await BoundedBodyReader.ReadAsync(_ => { reads++; return ValueTask.FromResult(0); }, Limit + 1, Limit, TooLarge, Truncated));

        Assert.That(reads, Is.Zero);
    }

    [Test]
    public void ReadAsync_UndeclaredBodyOverLimit_Throws()
    {
        var stream = new MemoryStream(new byte[2048]);

        Assert.ThrowsAsync<TooLargeException>(async () => await BoundedBodyReader.ReadAsync(m => stream.ReadAsync(m), null, 1024, TooLarge, Truncated));
    }

    [Test]
    public void ReadAsync_BodyShorterThanDeclared_ThrowsTruncated()
    {
        var stream = new MemoryStream(new byte[100]);

        Assert.ThrowsAsync<TruncatedException>(async () => await BoundedBodyReader.ReadAsync(m => stream.ReadAsync(m), 200, Limit, TooLarge, Truncated));
    }

    [Test]
    public void ReadAsync_LargeDeclaredLengthSmallBody_AllocatesOnlyForWhatArrived()
    {
        // Synchronous reads keep the whole call on this thread, so the thread's allocation counter sees all of it.
        var stream = new MemoryStream(new byte[1024]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.ThrowsAsync<TruncatedException>(async () => await BoundedBodyReader.ReadAsync(m => stream.ReadAsync(m), Limit, Limit, TooLarge, Truncated));

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(256 * 1024));
    }

    [Test]
    public async Task DetachMemory_BodyOverPoolSize_HandsOverTheArrayWithoutCopy()
    {
        var stream = new MemoryStream(new byte[3 * BodyBuffer.MaxPooledBytes]);
        using var body = await BoundedBodyReader.ReadAsync(m => stream.ReadAsync(m), null, Limit, TooLarge, Truncated);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var memory = body.DetachMemory();

        Assert.That(memory.Length, Is.EqualTo(3 * BodyBuffer.MaxPooledBytes));
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1024));
    }

    private static Exception TooLarge() => new TooLargeException();

    private static Exception Truncated() => new TruncatedException();

    private sealed class TooLargeException : Exception;

    private sealed class TruncatedException : Exception;
}
