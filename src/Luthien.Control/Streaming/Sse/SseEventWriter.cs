using System.Buffers;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Luthien.Control.Streaming;

/// <summary>
/// Writes server-sent events in canonical form — <c>data: &lt;json&gt;\n\n</c>, one line of data per event; the caller
/// flushes before it waits for the next event, so the client sees each one at once.
/// </summary>
/// <remarks>
/// Events written without a flush collect in a buffer rented from <see cref="ArrayPool{T}.Shared"/> and reach the
/// response in one write when flushed: a server's response writer may take a lock per call (Kestrel's does), and
/// several events that arrived together then cost one. The buffer goes back to the pool at every flush, so an idle
/// stream holds none.
/// </remarks>
internal sealed class SseEventWriter
{
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private const int MinimumBuffer = 4096;
    private readonly PipeWriter _writer;
    private byte[]? _pending;
    private int _pendingLength;

    /// <summary>Creates a writer over a response body.</summary>
    /// <param name="writer">The response body.</param>
    public SseEventWriter(PipeWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
    }

    /// <summary>
    /// Bytes written since the last flush, not yet handed to the response. A caller that writes events as fast as the
    /// backend sends them flushes when this grows, so the client's pace (the response's backpressure) limits the reading.
    /// </summary>
    public int PendingBytes => _pendingLength;

    /// <summary>
    /// Writes one chunk as an event without flushing, for a caller that flushes itself before it waits for the next
    /// chunk (so several events that are already there go out in one write, and none waits in the buffer).
    /// </summary>
    /// <param name="chunk">The chunk.</param>
    public void WriteChunk(StreamChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var data = chunk.Data.Span;
        if (WriteEventTypes)
        {
            // The type as the data says it, copied from its bytes; an escaped one (rare) is read as a string.
            var type = ResponsesEvents.ReadTypeBytes(data);
            if (type.IsEmpty)
            {
                WriteEventType(ResponsesEvents.ReadType(data) ?? chunk.EventType);
            }
            else
            {
                WriteEventType(type);
            }
        }

        if (data.IndexOfAny((byte)'\n', (byte)'\r') >= 0)
        {
            // Upstream multi-line data: one canonical line. Data that is not JSON keeps its lines, each as a data: line.
            try
            {
                data = Compact(data);
            }
            catch (JsonException)
            {
                WriteLines(chunk.Data.Span);
                return;
            }
        }

        WriteEvent(data);
    }

    /// <summary>
    /// Whether each event gets an <c>event:</c> line naming its type (the Responses API's framing), taken from the data's
    /// <c>type</c>, which is what clients act on.
    /// </summary>
    public bool WriteEventTypes { get; init; }

    private void WriteEventType(ReadOnlySpan<byte> type)
    {
        // The bytes of a JSON string without escapes hold no line break.
        var length = EventPrefix.Length + type.Length + 1;
        var span = Reserve(length);
        EventPrefix.CopyTo(span);
        type.CopyTo(span[EventPrefix.Length..]);
        span[EventPrefix.Length + type.Length] = (byte)'\n';
        Commit(length);
    }

    private void WriteEventType(string? type)
    {
        // A type that could break the framing (a line break) or says nothing gets no event line; the data still has it.
        if (string.IsNullOrEmpty(type) || type.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            return;
        }

        var length = EventPrefix.Length + System.Text.Encoding.UTF8.GetByteCount(type) + 1;
        var span = Reserve(length);
        EventPrefix.CopyTo(span);
        var written = System.Text.Encoding.UTF8.GetBytes(type, span[EventPrefix.Length..]);
        span[EventPrefix.Length + written] = (byte)'\n';
        Commit(length);
    }

    /// <summary>Sends what has been written.</summary>
    /// <param name="cancellationToken">Cancels the flush.</param>
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending is { } pending)
        {
            _writer.Write(pending.AsSpan(0, _pendingLength));
            _pending = null;
            _pendingLength = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }

        return _writer.FlushAsync(cancellationToken);
    }

    /// <summary>Writes the final <c>data: [DONE]</c> and flushes it.</summary>
    /// <param name="cancellationToken">Cancels the write.</param>
    public ValueTask<FlushResult> WriteDoneAsync(CancellationToken cancellationToken)
    {
        Append(Done);
        return FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes one event whose data is <paramref name="head"/> followed by <paramref name="tail"/> (a chunk with a part cut
    /// out), without copying the two into one buffer first. Both parts must hold no line break.
    /// </summary>
    internal void WriteEvent(ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail)
    {
        var length = DataPrefix.Length + head.Length + tail.Length + EventEnd.Length;
        var span = Reserve(length);
        DataPrefix.CopyTo(span);
        head.CopyTo(span[DataPrefix.Length..]);
        tail.CopyTo(span[(DataPrefix.Length + head.Length)..]);
        EventEnd.CopyTo(span[(DataPrefix.Length + head.Length + tail.Length)..]);
        Commit(length);
    }

    /// <summary>
    /// Writes one event whose data is <paramref name="data"/>, which must hold no line break (the hosting layer's error
    /// event, built by its error mapping).
    /// </summary>
    internal void WriteEvent(ReadOnlySpan<byte> data)
    {
        var length = DataPrefix.Length + data.Length + EventEnd.Length;
        var span = Reserve(length);
        DataPrefix.CopyTo(span);
        data.CopyTo(span[DataPrefix.Length..]);
        EventEnd.CopyTo(span[(DataPrefix.Length + data.Length)..]);
        Commit(length);
    }

    /// <summary>Writes one event with an <c>event:</c> line; the data must hold no line break.</summary>
    internal void WriteEvent(string eventType, ReadOnlySpan<byte> data)
    {
        WriteEventType(eventType);
        WriteEvent(data);
    }

    /// <summary>Room for <paramref name="length"/> more bytes in the pending buffer, rented or grown as needed.</summary>
    private Span<byte> Reserve(int length)
    {
        var needed = _pendingLength + length;
        if (_pending is null || _pending.Length < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBuffer));
            if (_pending is { } old)
            {
                old.AsSpan(0, _pendingLength).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(old);
            }

            _pending = larger;
        }

        return _pending.AsSpan(_pendingLength, length);
    }

    private void Commit(int length) => _pendingLength += length;

    private void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        Commit(bytes.Length);
    }

    private static byte[] Compact(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data);
        using var doc = JsonDocument.ParseValue(ref reader);
        var buffer = new ArrayBufferWriter<byte>(data.Length);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            doc.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private void WriteLines(ReadOnlySpan<byte> data)
    {
        var text = data;
        while (true)
        {
            var end = text.IndexOfAny((byte)'\r', (byte)'\n');
            var line = end < 0 ? text : text[..end];
            Append(DataPrefix);
            Append(line);
            Append("\n"u8);
            if (end < 0)
            {
                break;
            }

            var skip = text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? 2 : 1;
            text = text[(end + skip)..];
        }

        Append("\n"u8);
    }
}
