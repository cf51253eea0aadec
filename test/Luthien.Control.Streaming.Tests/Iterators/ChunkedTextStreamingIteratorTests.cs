using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Streaming.Tests.Iterators;

public class ChunkedTextStreamingIteratorTests
{
    [Test]
    public async Task Enumerate_Text_ValidChunksThatAddUpToIt()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

        var chunks = await ListStreamingIterator.CollectAsync(new ChunkedTextStreamingIterator("Hello  brave world ", "my-model", timeProvider: time));

        Assert.That(Chunks.Text(chunks), Is.EqualTo("Hello  brave world "));
        Assert.That(chunks, Has.Count.EqualTo(5));
        foreach (var chunk in chunks)
        {
            var json = chunk.Json!;
            Assert.That(json["object"]!.GetValue<string>(), Is.EqualTo("chat.completion.chunk"));
            Assert.That(json["id"]!.GetValue<string>(), Does.StartWith("chatcmpl-"));
            Assert.That(json["created"]!.GetValue<long>(), Is.EqualTo(1_700_000_000));
            Assert.That(json["model"]!.GetValue<string>(), Is.EqualTo("my-model"));
        }

        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
        Assert.That(Encoding.UTF8.GetString(chunks[0].Data.Span), Does.Contain("\"role\":\"assistant\""));
    }

    [Test]
    public void Constructor_UnknownFinishReason_Throws()
    {
        Assert.Throws<ArgumentException>(() => _ = new ChunkedTextStreamingIterator("x", "m", "blocked"));
    }
}
