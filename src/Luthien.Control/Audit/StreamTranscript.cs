using System.Buffers;
using System.Diagnostics;

namespace Luthien.Control;

/// <summary>
/// A stream as its client received it, for the audit log: each event's data (up to a byte budget) and when it was
/// written. Filled by the writer as it writes, read once the stream has ended; one writer, no locking.
/// </summary>
internal sealed class StreamTranscript : IDisposable
{
    /// <summary>The most events whose timing is kept one by one; later ones are counted only.</summary>
    public const int MaxTimeline = 2000;

    private readonly int _maxBytes;
    private readonly long _started;
    private readonly List<(double Ms, int Bytes)> _timeline = [];
    private byte[] _buffer = [];
    private int _length;
    private readonly List<int> _ends = [];

    /// <summary>Starts a transcript.</summary>
    /// <param name="started">The transaction's start, a <see cref="Stopwatch"/> timestamp.</param>
    /// <param name="maxBytes">The most data kept (<see cref="TransactionLogOptions.MaxBodyBytes"/>).</param>
    public StreamTranscript(long started, int maxBytes)
    {
        _started = started;
        _maxBytes = maxBytes;
    }

    /// <summary>How many events were written.</summary>
    public int Events { get; private set; }

    /// <summary>How many bytes of event data are kept.</summary>
    public int Bytes => _length;

    /// <summary>Whether data was left out because the budget ran out.</summary>
    public bool Truncated { get; private set; }

    /// <summary>Milliseconds from the transaction's start to the first event written; <see langword="null"/> if none was.</summary>
    public double? FirstEventMs { get; private set; }

    /// <summary>When each event was written (milliseconds from the start) and its size, for the first <see cref="MaxTimeline"/>.</summary>
    public IReadOnlyList<(double Ms, int Bytes)> Timeline => _timeline;

    /// <summary>Records an event as written.</summary>
    /// <param name="data">The event's data.</param>
    public void Add(ReadOnlySpan<byte> data)
    {
        var ms = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;
        FirstEventMs ??= ms;
        Events++;
        if (_timeline.Count < MaxTimeline)
        {
            _timeline.Add((Math.Round(ms, 3), data.Length));
        }

        if (Truncated || _length + data.Length > _maxBytes)
        {
            Truncated = true;
            return;
        }

        if (_buffer.Length < _length + data.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(_buffer.Length * 2, _length + data.Length), Math.Max(_maxBytes, 1)));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            Return();
            _buffer = larger;
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length += data.Length;
        _ends.Add(_length);
    }

    /// <summary>The data of each event kept, in order.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> EventData()
    {
        var start = 0;
        foreach (var end in _ends)
        {
            yield return _buffer.AsMemory(start, end - start);
            start = end;
        }
    }

    /// <summary>Gives the buffer back.</summary>
    public void Dispose()
    {
        Return();
        _buffer = [];
        _length = 0;
        _ends.Clear();
    }

    private void Return()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
