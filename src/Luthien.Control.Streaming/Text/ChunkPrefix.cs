namespace Luthien.Control.Streaming.Text;

/// <summary>
/// The bytes that led up to the <c>choices</c> array in a stream's last chunk read in full (<c>{"id":…,"model":…,
/// "choices":</c>). Chunks of one stream repeat them, so a chunk that starts with the same bytes can be read from its
/// array on. One per stream; not thread-safe.
/// </summary>
internal sealed class ChunkPrefix
{
    private byte[] _bytes = [];

    /// <summary>How many bytes are remembered.</summary>
    public int Length { get; private set; }

    /// <summary>Whether <paramref name="json"/> starts with the remembered bytes.</summary>
    public bool Matches(ReadOnlySpan<byte> json) => Length > 0 && json.StartsWith(_bytes.AsSpan(0, Length));

    /// <summary>Remembers <paramref name="prefix"/> (already read and found valid).</summary>
    public void Remember(ReadOnlySpan<byte> prefix)
    {
        if (_bytes.Length < prefix.Length)
        {
            _bytes = new byte[prefix.Length];
        }

        prefix.CopyTo(_bytes);
        Length = prefix.Length;
    }
}
