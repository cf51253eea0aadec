
namespace Luthien.Control.Tests.Transport;

public class BoundedReadStreamTests
{
    [Test]
    public async Task ReadAsync_WithinLimit_PassesBytesThrough()
    {
        var stream = new BoundedReadStream(new MemoryStream([1, 2, 3]), 3, static l => new InvalidRequestException($"over {l}"));
        var buffer = new byte[8];

        var read = await stream.ReadAsync(buffer);

        Assert.That(buffer[..read], Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(await stream.ReadAsync(buffer), Is.Zero);
    }

    [Test]
    public void ReadAsync_PastLimit_ThrowsTheGivenErrorWithTheLimit()
    {
        var stream = new BoundedReadStream(new MemoryStream(new byte[10]), 4, static l => new InvalidRequestException($"over {l}"));

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () => _ = await stream.ReadAsync(new byte[8]));

        Assert.That(ex!.Message, Is.EqualTo("over 4"));
    }

    [Test]
    public void ReadAsync_RequestBodyPastLimit_Is413RequestTooLarge()
    {
        var stream = new BoundedReadStream(new MemoryStream(new byte[10]), 4, InvalidRequestException.TooLarge);

        var ex = Assert.ThrowsAsync<InvalidRequestException>(async () => _ = await stream.ReadAsync(new byte[8]));

        Assert.That(ex!.StatusCode, Is.EqualTo(413));
        Assert.That(ex.Code, Is.EqualTo("request_too_large"));
    }

    [Test]
    public void Read_SynchronousPastLimit_Throws()
    {
        var stream = new BoundedReadStream(new MemoryStream(new byte[10]), 4, static l => new InvalidRequestException($"over {l}"));

        Assert.Throws<InvalidRequestException>(() => _ = stream.Read(new byte[8], 0, 8));
    }

    [Test]
    public void Dispose_LeavesTheBodyOpen()
    {
        var inner = new MemoryStream(new byte[4]);
        var stream = new BoundedReadStream(inner, 4, static l => new InvalidRequestException($"over {l}"));

        stream.Dispose();

        Assert.That(inner.CanRead, Is.True);
    }
}
