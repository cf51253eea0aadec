using System.ClientModel;
using System.ClientModel.Primitives;
using System.Runtime.CompilerServices;
using OpenAI.Chat;

namespace Luthien.Control.Streaming;

/// <summary>
/// Adapts the OpenAI / Azure.AI.OpenAI client's typed stream (<see cref="StreamingChatCompletionUpdate"/>) to chunks.
/// Each update is written back to JSON by the SDK's own serializer, which keeps the fields it did not model. Use it
/// when a policy or host code calls the SDK's typed API itself; the SDK backend (<c>Client=Sdk</c>) reads the raw
/// stream instead, so its chunks keep their exact bytes.
/// </summary>
public sealed class OpenAiSdkStreamingIterator : StreamingResponseIterator
{
    private readonly IAsyncEnumerable<StreamingChatCompletionUpdate> _updates;
    private int _enumerated;

    /// <summary>Creates the iterator.</summary>
    /// <param name="updates">The SDK's stream, e.g. from <c>ChatClient.CompleteChatStreamingAsync</c>.</param>
    public OpenAiSdkStreamingIterator(IAsyncEnumerable<StreamingChatCompletionUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _updates = updates;
    }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streaming response can be enumerated only once.");
        }

        return AdaptAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<StreamChunk> AdaptAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var updates = _updates.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool hasNext;
            try
            {
                hasNext = await updates.MoveNextAsync().ConfigureAwait(false);
            }
            catch (ClientResultException ex) when (ex.Status == 0)
            {
                throw BackendException.Unavailable(ex);
            }
            catch (IOException ex)
            {
                throw BackendException.BrokeOff(ex);
            }

            if (!hasNext)
            {
                yield break;
            }

            var json = ModelReaderWriter.Write(updates.Current, ModelReaderWriterOptions.Json);
            yield return StreamChunk.FromUtf8(json.ToMemory());
        }
    }
}
