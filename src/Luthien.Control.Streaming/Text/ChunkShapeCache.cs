namespace Luthien.Control.Streaming.Text;

/// <summary>
/// What the chunks of one stream repeat, remembered from chunks read in full: the bytes that lead up to the
/// <c>choices</c> array (<c>{"id":…,"model":…,"choices":</c>), so that a chunk starting with them is read from its array
/// on; and the shape of the usual text chunk — everything around its <c>delta.content</c> string — so that a chunk that
/// differs from it only inside that string is read by decoding the string alone. One per stream; not thread-safe.
/// </summary>
internal sealed class ChunkShapeCache
{
    private byte[] _bytes = [];
    private byte[] _shapeHead = [];
    private byte[] _shapeTail = [];
    private int _shapeIndex = -1;

    /// <summary>How many bytes lead up to the <c>choices</c> array (0 until a chunk was read in full).</summary>
    public int PrefixLength { get; private set; }

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

    /// <summary>How many chunks were read by their shape alone.</summary>
    public int ShapeReads { get; private set; }

    /// <summary>
    /// Reads a chunk that has the remembered text-chunk shape: the same bytes before and after its content string, a
    /// valid string in between. Adds its one choice; false (nothing added) if the chunk has another shape.
    /// </summary>
    public bool TryReadContentShape(ReadOnlySpan<byte> json, List<ChoiceDelta> choices)
    {
        if (_shapeIndex < 0 || !json.StartsWith(_shapeHead) || json.Length <= _shapeHead.Length || json[_shapeHead.Length] != (byte)'"')
        {
            return false;
        }

        var end = ChoiceScanner.SkipString(json, _shapeHead.Length + 1);
        if (end < 0 || !json[end..].SequenceEqual(_shapeTail) || !ChoiceScanner.TryReadString(json[_shapeHead.Length..end], out var content))
        {
            return false;
        }

        choices.Add(new ChoiceDelta(_shapeIndex, content, null, false));
        ShapeReads++;
        return true;
    }

    /// <summary>Remembers the shape of a chunk just read in full: one choice whose delta holds only text.</summary>
    public void LearnContentShape(ReadOnlySpan<byte> json, int index)
    {
        if (!ChoiceScanner.TryLocateOnlyContent(json, out var start, out var end))
        {
            return;
        }

        _shapeHead = json[..start].ToArray();
        _shapeTail = json[end..].ToArray();
        _shapeIndex = index;
    }
}
