using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Reads the <c>chat.completion.chunk</c>s of one stream, after policies ran, back into <see cref="ChatResponseUpdate"/>s.
/// One reader per stream (it joins tool-call fragments, see <see cref="ToolCallJoiner"/>); not thread-safe.
/// </summary>
/// <remarks>
/// Text, refusal, reasoning, complete function calls, the finish reason and usage come from the chunk: the JSON is
/// the truth. With the update the chunk was written from (<c>original</c>), its metadata (ids, model, time, role, author)
/// is kept and so is every content JSON cannot carry, in its place (see <see cref="ContentMerger"/>). A chunk with no
/// original (one a policy added) gets the metadata of the last original seen (the chunk's own <c>id</c>, <c>model</c>
/// and <c>created</c> before any) and the role from its delta, else assistant. Only choice 0 is read: an M.E.AI stream
/// has one choice. No update has a raw representation or additional properties.
/// </remarks>
internal sealed class ChatChunkReader
{
    private readonly ChunkParser _parser = new();
    private readonly ToolCallJoiner _joiner = new();
    private readonly ContentMerger _merger = new();
    private readonly List<WireCall> _completed = [];
    private ChatResponseUpdate? _last;

    /// <summary>The update a chunk states.</summary>
    /// <param name="chunkJson">The chunk's JSON (the <c>data</c> of its event).</param>
    /// <param name="original">The update the chunk was written from, or <see langword="null"/>; consumed.</param>
    /// <returns>
    /// The update; it may have no contents and no finish reason when a policy holds back what the original had (the
    /// caller may skip it).
    /// </returns>
    /// <exception cref="InvalidOperationException">The chunk is not JSON of a chunk's shape.</exception>
    public ChatResponseUpdate ToUpdate(ReadOnlySpan<byte> chunkJson, ChatResponseUpdate? original)
    {
        var chunk = _parser.Parse(chunkJson);
        _completed.Clear();
        var fragments = chunk.Fragments;
        for (var i = 0; i < fragments.Count; i++)
        {
            _joiner.Add(fragments[i], _completed);
        }

        if (chunk.FinishReason is not null)
        {
            _joiner.CompleteAll(_completed);
        }

        var update = original is null ? Added(chunk) : FromOriginal(original);
        update.FinishReason = FinishReasons.FromWire(chunk.FinishReason);
        if (original is null)
        {
            _merger.Reset(chunk.Texts, _completed, usageCarried: true, chunk.Usage, []);
        }
        else
        {
            _merger.Reset(chunk.Texts, _completed, usageCarried: true, chunk.Usage, [original.Contents]);
            _merger.Map(original.Contents, update.Contents);
        }

        _merger.AppendRest(update.Contents);
        return update;
    }

    /// <summary>
    /// At the end of the stream: an update with the calls still open (a stream that ended without a finish reason), or
    /// <see langword="null"/> when there are none.
    /// </summary>
    public ChatResponseUpdate? Complete()
    {
        if (!_joiner.HasOpen)
        {
            return null;
        }

        _completed.Clear();
        _joiner.CompleteAll(_completed);
        var update = Meta(new ChatResponseUpdate { Role = ChatRole.Assistant }, _last);
        foreach (var call in _completed)
        {
            update.Contents.Add(ContentMerger.ToCall(call));
        }

        return update;
    }

    private ChatResponseUpdate FromOriginal(ChatResponseUpdate original)
    {
        _last = original;
        return Meta(new ChatResponseUpdate { Role = original.Role }, original);
    }

    private ChatResponseUpdate Added(ChunkParser chunk)
    {
        var update = new ChatResponseUpdate { Role = string.IsNullOrWhiteSpace(chunk.Role) ? ChatRole.Assistant : new ChatRole(chunk.Role) };
        if (_last is not null)
        {
            return Meta(update, _last);
        }

        update.ResponseId = chunk.Id;
        update.ModelId = WireJson.ModelOrNull(chunk.Model);
        update.CreatedAt = chunk.Created is { } created ? DateTimeOffset.FromUnixTimeSeconds(created) : null;
        return update;
    }

    private static ChatResponseUpdate Meta(ChatResponseUpdate update, ChatResponseUpdate? source)
    {
        if (source is not null)
        {
            update.ResponseId = source.ResponseId;
            update.MessageId = source.MessageId;
            update.ConversationId = source.ConversationId;
            update.ModelId = source.ModelId;
            update.CreatedAt = source.CreatedAt;
            update.AuthorName = source.AuthorName;
        }

        return update;
    }
}
