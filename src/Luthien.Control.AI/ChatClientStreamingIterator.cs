using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// The next chat client's streamed answer as the policies read it: each update one <c>chat.completion.chunk</c>, which
/// keeps the update it was made from (handed back as it is when no policy changes the chunk).
/// </summary>
internal sealed class ChatClientStreamingIterator(IChatClient inner, IList<ChatMessage> messages, ChatOptions? options) : StreamingResponseIterator
{
    /// <inheritdoc />
    public override async IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        using var writer = new ChatChunkWriter();
        var updates = inner.GetStreamingResponseAsync(messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }

                    update = updates.Current;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw new InnerClientException(ex);
                }

                yield return StreamChunk.FromOrigin(writer.Write(update), update);
            }
        }
        finally
        {
            await updates.DisposeAsync().ConfigureAwait(false);
        }
    }
}
