using System.IO.Pipelines;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Tests.Transport;

public class PassthroughCopierTests
{
    [Test]
    public async Task CopyAsync_Body_CopiesEveryByteAndFlushesEachPiece()
    {
        var source = Enumerable.Range(0, 3 * PassthroughCopier.BufferBytes + 5).Select(i => (byte)i).ToArray();
        var destination = new FlushCountingStream();

        await PassthroughCopier.CopyAsync(new MemoryStream(source), destination, new FakeTimeProvider(), TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.That(destination.ToArray(), Is.EqualTo(source));
        Assert.That(destination.Flushes, Is.EqualTo(destination.Writes), "every piece is flushed before the next read");
    }

    [Test]
    public async Task CopyAsync_Finished_DisposesTheBody()
    {
        var body = new MemoryStream([1, 2, 3]);

        await PassthroughCopier.CopyAsync(body, new MemoryStream(), new FakeTimeProvider(), TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.That(body.CanRead, Is.False);
    }

    [Test]
    public async Task CopyAsync_BackendSilentPastIdle_ThrowsBackendTimeout()
    {
        var clock = new FakeTimeProvider();
        var silent = new Pipe();

        var copy = PassthroughCopier.CopyAsync(silent.Reader.AsStream(), new MemoryStream(), clock, TimeSpan.FromSeconds(10), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(10));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await copy);
        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendTimeout));
        await silent.Writer.CompleteAsync();
    }

    [Test]
    public async Task CopyAsync_SlowClient_ReadsNoMoreUntilTheFlushCompletes()
    {
        var body = new ReadCountingStream(new byte[4 * PassthroughCopier.BufferBytes]);
        var client = new GatedFlushStream();

        var copy = PassthroughCopier.CopyAsync(body, client, new FakeTimeProvider(), TimeSpan.FromSeconds(60), CancellationToken.None);
        await Task.Delay(50);

        Assert.That(body.Reads, Is.EqualTo(1), "the backend is read only as fast as the client takes the answer");
        client.Open();
        await copy;
        Assert.That(body.Reads, Is.GreaterThan(4));
    }

    [Test]
    public void CopyAsync_BodyBreaksOff_ThrowsBackendUnavailable()
    {
        var ex = Assert.ThrowsAsync<BackendException>(async () =>
            await PassthroughCopier.CopyAsync(new BrokenStream(), new MemoryStream(), new FakeTimeProvider(), TimeSpan.FromSeconds(60), CancellationToken.None));

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.BackendUnavailable));
    }

    private sealed class FlushCountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        public int Flushes { get; private set; }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes++;
            return base.WriteAsync(buffer, cancellationToken);
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return base.FlushAsync(cancellationToken);
        }
    }

    private sealed class ReadCountingStream(byte[] data) : MemoryStream(data)
    {
        public int Reads { get; private set; }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Reads++;
            return base.ReadAsync(buffer, cancellationToken);
        }
    }

    /// <summary>A client whose flushes wait until it is opened, as a response's flush waits for a slow client.</summary>
    private sealed class GatedFlushStream : MemoryStream
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => _open.Task;
    }

    private sealed class BrokenStream : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(new IOException("connection reset"));
    }
}
