namespace Luthien.Control.Streaming;

/// <summary>
/// What a <see cref="StreamingControlPolicy"/> sees and does for one stream: it emits chunks (passed or rewritten),
/// emits nothing (drop), holds chunks back and later releases or discards them, or completes the stream early
/// (block). It also carries the policy's own state for this stream, since one policy instance serves every request.
/// </summary>
public sealed class StreamingContext
{
    private readonly Queue<StreamChunk> _output = new();
    private readonly List<StreamChunk> _held = [];
    private readonly int _maxHeldChunks;
    private readonly long _maxHeldBytes;
    private long _heldBytes;

    private readonly WireFormat _format;

    internal StreamingContext(Transaction transaction, WireFormat format, int maxHeldChunks, long maxHeldBytes = StreamingControlPolicy.DefaultMaxHeldBytes)
    {
        Transaction = transaction;
        _format = format;
        _maxHeldChunks = maxHeldChunks;
        _maxHeldBytes = maxHeldBytes;
        AnswerCount = WireFormats.AnswerCount(transaction);
    }

    /// <summary>
    /// How many answers the model gives side by side (chat's <c>n</c>; 1 otherwise): once a policy has ended that many
    /// slots, nothing more can reach the client and it may <see cref="Complete"/> the stream.
    /// </summary>
    public int AnswerCount { get; }

    /// <summary>Whether this is a buffered answer, seen as a stream of one chunk.</summary>
    public bool IsBuffered { get; internal init; }

    /// <summary>
    /// Makes an empty chunk of this answer, in its format, to <see cref="StreamChunk.Add"/> events to and then
    /// <see cref="Emit"/> (e.g. text a policy held back, or the end of a slot it stopped).
    /// </summary>
    public StreamChunk CreateChunk() => _format.CreateChunk();

    /// <summary>Gives a chunk this answer's format, so that its <see cref="StreamChunk.Output"/> can be read.</summary>
    internal void Adopt(StreamChunk chunk) => chunk.Format = _format;

    /// <summary>The transaction whose response is streamed.</summary>
    public Transaction Transaction { get; }

    /// <summary>The policy's state for this stream; set it on the first chunk.</summary>
    public object? State { get; set; }

    /// <summary>The policy's state for this stream, created on first use.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="create">Creates the state.</param>
    public T GetOrCreateState<T>(Func<T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        if (State is not T state)
        {
            state = create();
            State = state;
        }

        return state;
    }

    /// <summary>The chunks held back, in arrival order.</summary>
    public IReadOnlyList<StreamChunk> Held => _held;

    /// <summary>Whether the policy ended the stream early; nothing more is read from upstream.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>How many chunks the policy has emitted so far.</summary>
    public int EmittedCount { get; private set; }

    /// <summary>Sends a chunk on (as it came, or rewritten).</summary>
    /// <param name="chunk">The chunk.</param>
    public void Emit(StreamChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        _output.Enqueue(chunk);
        EmittedCount++;
    }

    /// <summary>Keeps a chunk back until <see cref="ReleaseHeld"/> or <see cref="DiscardHeld"/>.</summary>
    /// <param name="chunk">The chunk.</param>
    /// <exception cref="ControlException">More chunks, or more bytes of chunks, are held than the limits allow (<see cref="ControlErrorKind.PolicyFailure"/>).</exception>
    public void Hold(StreamChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (_held.Count >= _maxHeldChunks)
        {
            throw ControlFailureException.PolicyFailure($"A streaming policy held back more than the limit of {_maxHeldChunks} chunks.");
        }

        _heldBytes += chunk.Size;
        if (_heldBytes > _maxHeldBytes)
        {
            throw ControlFailureException.PolicyFailure($"A streaming policy held back more than the limit of {_maxHeldBytes} bytes.");
        }

        _held.Add(chunk);
    }

    /// <summary>Whether <see cref="Hold"/> would take one more chunk within the limits.</summary>
    internal bool CanHold(StreamChunk chunk) => _held.Count < _maxHeldChunks && _heldBytes + chunk.Size <= _maxHeldBytes;

    /// <summary>Emits every held chunk, in arrival order.</summary>
    public void ReleaseHeld()
    {
        foreach (var chunk in _held)
        {
            Emit(chunk);
        }

        _held.Clear();
        _heldBytes = 0;
    }

    /// <summary>Drops every held chunk and returns them, e.g. to emit a rewritten part.</summary>
    public IReadOnlyList<StreamChunk> DiscardHeld()
    {
        var dropped = _held.ToArray();
        _held.Clear();
        _heldBytes = 0;
        return dropped;
    }

    /// <summary>
    /// Ends the stream now, successfully: what was emitted is sent, then <c>[DONE]</c>; nothing more is read from the
    /// backend, whose request is then cancelled.
    /// </summary>
    public void Complete() => IsCompleted = true;

    internal bool TryTakeOutput(out StreamChunk chunk) => _output.TryDequeue(out chunk!);

    /// <summary>Everything emitted so far, in order (buffered answers).</summary>
    internal IEnumerable<StreamChunk> TakeOutput()
    {
        while (_output.TryDequeue(out var chunk))
        {
            yield return chunk;
        }
    }
}
