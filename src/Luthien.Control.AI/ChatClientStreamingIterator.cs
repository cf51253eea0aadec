using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// The next chat client's streamed answer as the policies read it: each update one <c>chat.completion.chunk</c>, which
/// keeps the update it was made from (handed back as it is when no policy changes the chunk).
/// </summary>
internal sealed class ChatClientStreamingIterator(IChatClient inner, IList<ChatMessage> messages, ChatOptions? options) : StreamingResponseIterator
{
    /// <summary>
    /// The next client's updates as they are, for a stream nothing after the backend reads (no policy, no step wrapped
    /// it, the audit log off): nothing to write as JSON, nothing to read back.
    /// </summary>
    /// <param name="cancellationToken">The app's token.</param>
    public async IAsyncEnumerable<ChatResponseUpdate> UpdatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var updates = inner.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new InnerClientException(ex);
                }

                yield return updates.Current;
            }
        }
        finally
        {
            await updates.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        using var writer = new ChatChunkWriter();
        await foreach (var update in UpdatesAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return StreamChunk.CopyToPooled(writer.WriteToScratch(update), update);
        }
    }
}
