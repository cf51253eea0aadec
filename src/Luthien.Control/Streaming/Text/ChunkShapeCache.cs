namespace Luthien.Control.Streaming;

/// <summary>
/// What the chunks of one stream repeat, remembered from chunks read in full: the bytes that lead up to the
/// <c>choices</c> array (<c>{"id":…,"model":…,"choices":</c>), so that a chunk starting with them is read from its array
/// on; and the shapes of the usual text chunk and the usual tool-call fragment — every byte around one string (the
/// <c>delta.content</c> text, the <c>arguments</c> piece) — so that a chunk that differs from one of them only inside
/// that string is read without reading the rest. One per stream; not thread-safe.
/// </summary>
internal sealed class ChunkShapeCache
{
    private readonly StringShape _text = new();
    private readonly StringShape _toolFragment = new();
    private readonly List<(int Choice, int Call)> _toolCalls = [];
    private byte[] _bytes = [];
    private int _textIndex;

    /// <summary>How many bytes lead up to the <c>choices</c> array (0 until a chunk was read in full).</summary>
    public int PrefixLength { get; private set; }

    /// <summary>How many chunks were read by their shape alone.</summary>
    public int ShapeReads { get; private set; }

    /// <summary>Whether <paramref name="json"/> starts with the remembered bytes that lead up to <c>choices</c>.</summary>
    public bool MatchesPrefix(ReadOnlySpan<byte> json) => PrefixLength > 0 && json.StartsWith(_bytes.AsSpan(0, PrefixLength));

    /// <summary>Remembers the bytes that lead up to <c>choices</c> (already read and found valid).</summary>
    public void RememberPrefix(ReadOnlySpan<byte> prefix)
    {
        if (_bytes.Length < prefix.Length)
        {
            _bytes = new byte[prefix.Length];
        }

        prefix.CopyTo(_bytes);
        PrefixLength = prefix.Length;
    }

    /// <summary>
    /// Reads a chunk that has the remembered text-chunk shape: the same bytes before and after its content string, a
    /// valid string in between. Adds its one choice; false (nothing added) if the chunk has another shape.
    /// </summary>
    public bool TryReadContentShape(ReadOnlySpan<byte> json, List<ChoiceDelta> choices, string? knownText = null)
    {
        if (!_text.TryMatch(json, out var start, out var end) || !ChoiceScanner.TryReadString(json[start..end], out var content, knownText))
        {
            return false;
        }

        choices.Add(new ChoiceDelta(_textIndex, content, null, false));
        ShapeReads++;
        return true;
    }

    /// <summary>Remembers the shape of a chunk just read in full: one choice whose delta holds only text.</summary>
    public void LearnContentShape(ReadOnlySpan<byte> json, int index)
    {
        if (ChoiceScanner.TryLocateOnlyContent(json, out var start, out var end))
        {
            _text.Learn(json, start, end);
            _textIndex = index;
        }
    }

    /// <summary>
    /// Lists the calls of a chunk that has the remembered tool-fragment shape: the same bytes around one string, so the
    /// same choices and calls. False (nothing added) if the chunk has another shape.
    /// </summary>
    public bool TryReadToolShape(ReadOnlySpan<byte> json, List<(int Choice, int Call)> calls)
    {
        if (!_toolFragment.TryMatch(json, out _, out _))
        {
            return false;
        }

        calls.AddRange(_toolCalls);
        ShapeReads++;
        return true;
    }

    /// <summary>Remembers the shape of a tool-call fragment just read in full, around its <c>arguments</c> string.</summary>
    public void LearnToolShape(ReadOnlySpan<byte> json, List<(int Choice, int Call)> calls)
    {
        if (ChoiceScanner.TryLocateString(json, "arguments"u8, out var start, out var end))
        {
            _toolFragment.Learn(json, start, end);
            _toolCalls.Clear();
            _toolCalls.AddRange(calls);
        }
    }

    /// <summary>Every byte of a chunk but one string token: the bytes before it and the bytes after it.</summary>
    private sealed class StringShape
    {
        private byte[]? _head;
        private byte[] _tail = [];

        /// <summary>Where the string token (quotes included) lies in <paramref name="json"/>, if the rest matches.</summary>
        public bool TryMatch(ReadOnlySpan<byte> json, out int start, out int end)
        {
            start = end = -1;
            if (_head is null || json.Length <= _head.Length || json[_head.Length] != (byte)'"' || !json.StartsWith(_head))
            {
                return false;
            }

            start = _head.Length;
            end = ChoiceScanner.SkipString(json, start + 1);
            return end >= 0 && json[end..].SequenceEqual(_tail);
        }

        public void Learn(ReadOnlySpan<byte> json, int start, int end)
        {
            _head = json[..start].ToArray();
            _tail = json[end..].ToArray();
        }
    }
}
