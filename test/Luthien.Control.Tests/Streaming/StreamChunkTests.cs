using System.Text;
using System.Text.Json.Nodes;

using Luthien.Control.Streaming;

namespace Luthien.Control.Tests.Streaming;

public class StreamChunkTests
{
    [TestCase("""{"error":{"message":"x"}}""", null, true)]
    [TestCase("""{"choices":[{"delta":{"content":"the word \"error\" in text"}}]}""", null, false)]
    [TestCase("""{"choices":[]}""", "error", true)]
    [TestCase("""{"choices":[]}""", null, false)]
    public void IsError_Event_DetectsErrors(string json, string? eventType, bool expected)
    {
        Assert.That(StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json), eventType).IsError, Is.EqualTo(expected));
    }

    [Test]
    public void Data_ReadOnlyJsonAccess_KeepsOriginalBytes()
    {
        const string json = """{"b": 1,  "a":2}""";
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));

        _ = chunk.Json!["a"];

        Assert.That(Encoding.UTF8.GetString(chunk.Data.Span), Is.EqualTo(json));
    }

    [Test]
    public void FromJson_NewChunk_SerializesJson()
    {
        var chunk = StreamChunk.FromJson(new JsonObject { ["id"] = "x" });

        Assert.That(Encoding.UTF8.GetString(chunk.Data.Span), Is.EqualTo("""{"id":"x"}"""));
    }
}
