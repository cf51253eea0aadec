using System.Text;
using System.Text.Json.Nodes;


namespace Luthien.Control.Tests.Streaming;

public class StreamChunkTests
{
    [TestCase("""{"error":{"message":"x"}}""", null, true)]
    [TestCase("""{"choices":[{"delta":{"content":"the word \"error\" in text"}}]}""", null, false)]
    [TestCase("""{"error":{"message":"x"}}""", "error", true)]
    [TestCase("""{"choices":[]}""", null, false)]

    // The event type alone does not make an error: error events skip the policies, and chat streams are written without
    // event types, so a chunk under `event: error` would reach the client unpoliced.
    [TestCase("""{"choices":[{"index":0,"delta":{"content":"x"}}]}""", "error", false)]

    // A Responses event is what its type says: a text delta with an "error" member is still text a client shows.
    [TestCase("""{"type":"error","code":"server_error","message":"x"}""", null, true)]
    [TestCase("""{"type":"response.output_text.delta","delta":"x","error":null}""", null, false)]
    [TestCase("""{"type":"response.output_text.delta","delta":"x","error":{"message":"x"}}""", "error", false)]
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
    public void WasChanged_ChangeWrittenIntoData_StaysTrue()
    {
        var chunk = StreamChunk.CopyInProcess(Encoding.UTF8.GetBytes("""{"a":1}"""), null);
        chunk.Json!["a"] = 2;
        chunk.MarkModified();

        _ = chunk.Data;

        Assert.That(chunk.IsModified, Is.False, "the change is written");
        Assert.That(chunk.WasChanged, Is.True);
    }

    [Test]
    public void WasChanged_OnlyRead_IsFalse()
    {
        var chunk = StreamChunk.CopyInProcess(Encoding.UTF8.GetBytes("""{"a":1}"""), null);

        _ = chunk.Json!["a"];
        _ = chunk.Data;

        Assert.That(chunk.WasChanged, Is.False);
    }

    [Test]
    public void FromJson_NewChunk_SerializesJson()
    {
        var chunk = StreamChunk.FromJson(new JsonObject { ["id"] = "x" });

        Assert.That(Encoding.UTF8.GetString(chunk.Data.Span), Is.EqualTo("""{"id":"x"}"""));
    }

    [Test]
    public void CopyToPooled_Data_EqualsInputBytes()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"id":"x"}""");

        var chunk = StreamChunk.CopyToPooled(bytes, "message");
        bytes[2] = (byte)'X';

        Assert.That(Encoding.UTF8.GetString(chunk.Data.Span), Is.EqualTo("""{"id":"x"}"""));
        Assert.That(chunk.EventType, Is.EqualTo("message"));
    }

    [Test]
    public void Release_ThenData_Throws()
    {
        var chunk = StreamChunk.CopyToPooled("""{"id":"x"}"""u8);

        chunk.Release();

        Assert.That(() => chunk.Data, Throws.InvalidOperationException);
        Assert.That(() => chunk.Json, Throws.InvalidOperationException);
    }

    [Test]
    public void Release_AfterJsonParsed_JsonStaysReadable()
    {
        var chunk = StreamChunk.CopyToPooled("""{"id":"x"}"""u8);
        _ = chunk.Json;

        chunk.Release();

        Assert.That((string?)chunk.Json!["id"], Is.EqualTo("x"));
    }

    [Test]
    public void Release_Twice_DoesNothingMore()
    {
        var chunk = StreamChunk.CopyToPooled("""{"id":"x"}"""u8);

        chunk.Release();

        Assert.That(chunk.Release, Throws.Nothing);
    }

    [TestCase("not json")]
    [TestCase("""{"choices":[]} junk""")]
    [TestCase("""{"choices":[],"choices":[]}""")]
    [TestCase("""{"choices":[{"delta":{"content":"\ud800"}}]}""")]
    [TestCase("""{"\ud800":1}""")]
    public void Json_UnreadableData_Throws502InvalidResponse(string data)
    {
        var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(data));

        var ex = Assert.Throws<BackendException>(() => _ = chunk.Json);

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public void Json_InvalidUtf8_Throws502InvalidResponse()
    {
        byte[] data = [.. """{"choices":[{"delta":{"content":"x"""u8, 0xFF, .. "\"}}]}"u8];
        var chunk = StreamChunk.FromUtf8(data);

        Assert.Throws<BackendException>(() => _ = chunk.Json);
    }

    [Test]
    public void IsError_UnreadableDataMentioningError_IsFalseWithoutThrowing()
    {
        var chunk = StreamChunk.FromUtf8("""{"error": oops"""u8.ToArray());

        Assert.That(chunk.IsError, Is.False);
    }
}
