using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Turns the chunks that leave the policies back into what the app gets: the next client's own update where no policy
/// changed its chunk (without what no policy read: <see cref="Unread"/>), else an update read from the chunk's JSON (with the metadata and the content the wire format
/// cannot carry taken from the update it was made from). A chunk the policies emptied gives nothing.
/// </summary>
internal sealed class ChatUpdateRebuilder(ChatClientStreamingIterator source)
{
    private readonly ChatChunkReader _reader = new();

    /// <summary>What the app gets for this chunk: none, or one update.</summary>
    /// <param name="chunk">A chunk that left the policies.</param>
    public ChatResponseUpdate? Next(StreamChunk chunk)
    {
        var origin = source.TakeOrigin(chunk);
        if (origin is not null && !chunk.WasChanged)
        {
            return Unread.Clear(origin);
        }

        var data = chunk.Data;
        if (data.IsEmpty)
        {
            return null;
        }

        var update = _reader.ToUpdate(data.Span, origin);
        return update.Contents.Count == 0 && update.FinishReason is null ? null : update;
    }

    /// <summary>What is left at the end of the stream: a function call whose arguments the chunks split, if any.</summary>
    public ChatResponseUpdate? Complete() => _reader.Complete();
}
