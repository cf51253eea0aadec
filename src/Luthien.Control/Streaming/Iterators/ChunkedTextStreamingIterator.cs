using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>
/// Turns text a policy writes into a valid stream of <c>chat.completion.chunk</c> events — a role chunk, one chunk
/// per word (spaces kept, so the chunks add up to the text exactly) and a final chunk with a known finish reason — for
/// policies that answer on their own instead of the backend.
/// </summary>
public sealed partial class ChunkedTextStreamingIterator : StreamingResponseIterator
{
    private readonly string _text;
    private readonly JsonObject _template;
    private readonly string _finishReason;

    /// <summary>Creates the iterator.</summary>
    /// <param name="text">The text to stream.</param>
    /// <param name="model">The <c>model</c> the chunks name.</param>
    /// <param name="finishReason">The finish reason, one of <see cref="ChatChunks.KnownFinishReasons"/>.</param>
    /// <param name="timeProvider">The clock for <c>created</c>.</param>
    public ChunkedTextStreamingIterator(string text, string model, string finishReason = "stop", TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(model);
        if (!ChatChunks.KnownFinishReasons.Contains(finishReason))
        {
            throw new ArgumentException($"'{finishReason}' is not a finish_reason clients know.", nameof(finishReason));
        }

        _text = text;
        _finishReason = finishReason;
        _template = new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N"),
            ["created"] = (timeProvider ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds(),
            ["model"] = model,
        };
    }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ProduceAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    private async IAsyncEnumerable<StreamChunk> ProduceAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield return ChatChunks.Choice(_template, 0, new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null);
        foreach (Match piece in PiecePattern().Matches(_text))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ChatChunks.Text(_template, 0, piece.Value);
        }

        yield return ChatChunks.Choice(_template, 0, null, _finishReason);
    }

    [GeneratedRegex(@"\S+\s*|\s+")]
    private static partial Regex PiecePattern();
}
