using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.Streaming;

namespace Luthien.Control.Streaming.Tests.Sse;

public class SseEventWriterTests
{
    private static async Task<string> WriteAsync(Func<SseEventWriter, Task> write)
    {
        var output = new MemoryStream();
        var pipe = PipeWriter.Create(output);
        await write(new SseEventWriter(pipe));
        await pipe.CompleteAsync();
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static async Task<string> WriteTypedAsync(StreamChunk chunk)
    {
        var output = new MemoryStream();
        var pipe = PipeWriter.Create(output);
        var writer = new SseEventWriter(pipe) { WriteEventTypes = true };
        writer.WriteChunk(chunk);
        await writer.FlushAsync(default);
        await pipe.CompleteAsync();
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [TestCase("""{"type":"response.output_text.delta","delta":"a"}""", "response.output_text.delta")]
    [TestCase("""{"sequence_number":3,"type":"response.completed"}""", "response.completed")]
    [TestCase("""{"type":"response.\u006fk","delta":"a"}""", "response.ok")]
    public async Task WriteChunk_EventTypes_EventLineFromTheDatasType(string json, string type)
    {
        // The line says what the data's type says (clients act on the data), whatever the backend's event: line said.
        var text = await WriteTypedAsync(StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json), eventType: "something.else"));

        Assert.That(text, Is.EqualTo($"event: {type}\ndata: {json}\n\n"));
    }

    [Test]
    public async Task WriteChunk_EventTypeWithALineBreak_NoEventLineNothingInjected()
    {
        // Data no policy read is not parsed: a raw line break in its type must not become a line of the stream.
        const string json = "{\"type\":\"a\nevent: injected\",\"x\":1}";

        var text = await WriteTypedAsync(StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json)));

        Assert.That(text, Does.Not.StartWith("event:"));
        Assert.That(text.Split('\n'), Has.None.EqualTo("event: injected"));
    }

    [Test]
    public async Task WriteChunk_UnchangedChunk_WritesExactBytes()
    {
        const string json = """{"id":"c","choices":[{"delta":{"content":"hé"}}],"vendor":{"x":[1,2]}}""";

        var text = await WriteAsync(async w => { w.WriteChunk(StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json))); await w.FlushAsync(default); });

        Assert.That(text, Is.EqualTo($"data: {json}\n\n"));
    }

    [Test]
    public async Task WriteChunk_SeveralThenFlush_NothingReachesThePipeBeforeTheFlushThenAllInOrder()
    {
        var output = new MemoryStream();
        var pipe = PipeWriter.Create(output);
        var writer = new SseEventWriter(pipe);

        writer.WriteChunk(StreamChunk.FromUtf8("""{"n":1}"""u8.ToArray()));
        writer.WriteChunk(StreamChunk.FromUtf8("""{"n":2}"""u8.ToArray()));
        var unflushed = pipe.UnflushedBytes;
        await writer.FlushAsync(default);

        Assert.That(unflushed, Is.Zero);
        Assert.That(Encoding.UTF8.GetString(output.ToArray()), Is.EqualTo("data: {\"n\":1}\n\ndata: {\"n\":2}\n\n"));
    }

    [Test]
    public async Task WriteChunk_EventsLargerThanTheBuffer_WrittenWhole()
    {
        var big = "{\"text\":\"" + new string('x', 10_000) + "\"}";

        var text = await WriteAsync(async w =>
        {
            w.WriteChunk(StreamChunk.FromUtf8("""{"n":1}"""u8.ToArray()));
            w.WriteChunk(StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(big)));
            await w.WriteDoneAsync(default);
        });

        Assert.That(text, Is.EqualTo($"data: {{\"n\":1}}\n\ndata: {big}\n\ndata: [DONE]\n\n"));
    }

    [Test]
    public async Task WriteChunk_MultiLineJson_WritesOneCanonicalLine()
    {
        var text = await WriteAsync(async w => { w.WriteChunk(StreamChunk.FromUtf8("{\"a\":\n 1,\r\n\"b\": \"é\"}"u8.ToArray())); await w.FlushAsync(default); });

        Assert.That(text, Is.EqualTo("data: {\"a\":1,\"b\":\"é\"}\n\n"));
    }

    [Test]
    public async Task WriteChunk_MultiLineNonJson_WritesOneDataLinePerLine()
    {
        var text = await WriteAsync(async w => { w.WriteChunk(StreamChunk.FromUtf8("line one\nline two"u8.ToArray())); await w.FlushAsync(default); });

        Assert.That(text, Is.EqualTo("data: line one\ndata: line two\n\n"));
    }

    [Test]
    public async Task WriteChunk_ModifiedJson_WritesSerializedJson()
    {
        var chunk = StreamChunk.FromUtf8("""{"model":"a"}"""u8.ToArray());
        chunk.Json!["model"] = "b";
        chunk.MarkModified();

        var text = await WriteAsync(async w => { w.WriteChunk(chunk); await w.FlushAsync(default); });

        Assert.That(text, Is.EqualTo("data: {\"model\":\"b\"}\n\n"));
    }

    [Test]
    public async Task WriteDoneAsync_WritesExactDoneEvent()
    {
        var text = await WriteAsync(async w => await w.WriteDoneAsync(default));

        Assert.That(text, Is.EqualTo("data: [DONE]\n\n"));
    }

    [Test]
    public void FlushAsync_AfterOneEvent_ReachesThePipeAtOnce()
    {
        var pipe = new Pipe();
        var writer = new SseEventWriter(pipe.Writer);

        writer.WriteChunk(StreamChunk.FromUtf8("{}"u8.ToArray()));
        var flush = writer.FlushAsync(default).AsTask();

        Assert.That(pipe.Reader.TryRead(out var result), Is.True);
        Assert.That(Encoding.UTF8.GetString(result.Buffer.FirstSpan), Is.EqualTo("data: {}\n\n"));
        Assert.That(flush.IsCompleted, Is.True);
    }

    [Test]
    public async Task WriteChunk_WithoutFlush_SendsNothingUntilFlushAsync()
    {
        var pipe = new Pipe();
        var writer = new SseEventWriter(pipe.Writer);

        writer.WriteChunk(StreamChunk.FromUtf8("{\"a\":1}"u8.ToArray()));
        writer.WriteChunk(StreamChunk.FromUtf8("{\"b\":2}"u8.ToArray()));
        Assert.That(pipe.Reader.TryRead(out _), Is.False);

        await writer.FlushAsync(default);

        Assert.That(pipe.Reader.TryRead(out var result), Is.True);
        Assert.That(Encoding.UTF8.GetString(result.Buffer.ToArray()), Is.EqualTo("data: {\"a\":1}\n\ndata: {\"b\":2}\n\n"));
    }
}
