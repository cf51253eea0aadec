
namespace Luthien.Control.Streaming;

/// <summary>
/// A policy that acts on the model's output, streamed or not, through the API-neutral view: each chunk's
/// <see cref="StreamChunk.Output"/> events (text, refusal, reasoning, transcript, tool calls, finish, usage) per slot.
/// The base class does the dispatch, on whichever side of the backend-sending policy it stands: it acts on the response
/// as soon as there is one — placed after <c>SendBackendRequest</c>, before the rest of the pipeline; placed ahead of it,
/// once <c>next</c> returns. A streamed answer is wrapped lazily (chunks pass through <see cref="ProcessChunkAsync"/> as
/// the client reads them); a buffered one goes through the same method as one chunk (<see cref="ApplyNonStreamingAsync"/>).
/// Backend errors and pass-through requests are left alone.
/// </summary>
/// <example>
/// <code>
/// public sealed class UppercasePolicy : StreamingControlPolicy
/// {
///     protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
///     {
///         foreach (var output in chunk.Output)
///         {
///             if (output.Kind == OutputKind.Text)
///                 output.Text = output.Text.ToUpperInvariant();   // written back in the answer's own format
///         }
///
///         context.Emit(chunk);                                    // untouched chunks keep their bytes
///         return ValueTask.CompletedTask;
///     }
/// }
/// </code>
/// </example>
public abstract class StreamingControlPolicy : ControlPolicy
{
    /// <summary>The default limit on held chunks when the policy is used outside the hosting layer.</summary>
    public const int DefaultMaxHeldChunks = 1024;

    /// <summary>The most chunks this policy may hold back per stream.</summary>
    public int MaxHeldChunks { get; init; } = DefaultMaxHeldChunks;

    /// <summary>The default limit on the bytes of held chunks (the default of <c>Luthien:Limits:MaxPendingBytes</c>).</summary>
    public const int DefaultMaxHeldBytes = 1024 * 1024;

    /// <summary>
    /// The most bytes of chunks this policy may hold back per stream: held chunks are output not yet sent, bounded like
    /// the rest (<c>Luthien:Limits:MaxPendingBytes</c> for the built-in policies), whatever size the backend's events are.
    /// </summary>
    public int MaxHeldBytes { get; init; } = DefaultMaxHeldBytes;

    /// <inheritdoc />
    public sealed override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(next);
        await ApplyRequestAsync(transaction, cancellationToken).ConfigureAwait(false);
        if (transaction.Response.HasValue)
        {
            // After the backend-sending policy: the answer reaches the policies listed after this one through this one.
            await ApplyResponseAsync(transaction, cancellationToken).ConfigureAwait(false);
            await next(transaction, cancellationToken).ConfigureAwait(false);
            return;
        }

        await next(transaction, cancellationToken).ConfigureAwait(false);
        if (transaction.Response.HasValue)
        {
            await ApplyResponseAsync(transaction, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Acts on the request, where the policy stands in the chain. Default: nothing.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    protected virtual ValueTask ApplyRequestAsync(Transaction transaction, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Acts on a streamed answer. Default: wraps the stream so each chunk goes through <see cref="ProcessChunkAsync"/>.</summary>
    /// <param name="transaction">The transaction; <see cref="TransactionResponse.Stream"/> is set.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    protected virtual ValueTask ApplyStreamingAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var inner = transaction.Response.Stream!;

        // A Responses stream is finished once, after the last policy: the finisher moves out to wrap this policy too.
        if (inner is ResponsesStreamFinisher finisher)
        {
            inner = finisher.Inner;
        }

        var policed = new PolicyWrappedIterator(inner, this, transaction);
        transaction.Response.Stream = WireFormats.ForStream(transaction) is ResponsesFormat responses ? new ResponsesStreamFinisher(policed, responses) : policed;
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Acts on a successful buffered (non-streaming) answer. Default: the answer goes through the same per-chunk path as a
    /// stream, as one chunk holding all of it (<see cref="StreamingContext.IsBuffered"/>): <see cref="ProcessChunkAsync"/>,
    /// then <see cref="CompleteStreamAsync"/>; what the policy emits becomes the answer (events of chunks it made are
    /// added to it), and what it does not emit is removed. A policy written on <see cref="StreamChunk.Output"/> thus
    /// serves buffered and streamed answers alike.
    /// </summary>
    /// <param name="transaction">The transaction; <see cref="TransactionResponse.Payload"/> holds the answer.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    protected virtual async ValueTask ApplyNonStreamingAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var response = transaction.Response;
        var format = WireFormats.Create(transaction, stream: false);
        var body = response.Body;
        var answer = StreamChunk.FromUtf8(body);
        var context = new StreamingContext(transaction, format, MaxHeldChunks, MaxHeldBytes) { IsBuffered = true };
        context.Adopt(answer);
        await ProcessChunkAsync(answer, context, cancellationToken).ConfigureAwait(false);
        if (!context.IsCompleted)
        {
            await CompleteStreamAsync(context, cancellationToken).ConfigureAwait(false);
        }

        var emitted = false;
        foreach (var chunk in context.TakeOutput())
        {
            if (ReferenceEquals(chunk, answer))
            {
                emitted = true;
                continue;
            }

            // Chunks the policy made carry the events it added (text it held back, the end of a slot it stopped).
            foreach (var output in chunk.Output)
            {
                if (output.IsAdded && !output.IsRemoved)
                {
                    answer.Add(output);
                }
            }
        }

        if (!emitted)
        {
            foreach (var output in answer.Output)
            {
                if (!output.IsAdded)
                {
                    output.Remove();
                }
            }
        }

        // Changed since it came: pending or written (a policy that read the chunk's Data already had its change written
        // into the bytes, which clears IsModified; the bytes then differ from the answer that came).
        if (answer.Json is { } json && (answer.IsModified || !answer.Data.Span.SequenceEqual(body.Span)))
        {
            response.Payload = json;
        }
    }
    /// <summary>
    /// Handles one chunk: <see cref="StreamingContext.Emit"/> it (as is or rewritten), emit nothing (drop),
    /// <see cref="StreamingContext.Hold"/> it, or <see cref="StreamingContext.Complete"/> the stream (block).
    /// Default: pass. Error events from the backend never come here; they go straight to the client.
    /// </summary>
    /// <param name="chunk">The chunk.</param>
    /// <param name="context">This stream's context.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    protected virtual ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Emit(chunk);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Called once when the upstream stream ended well, before <c>[DONE]</c>: emit what is still held. Default: release
    /// held chunks.
    /// </summary>
    /// <param name="context">This stream's context.</param>
    /// <param name="cancellationToken">Fires when the client goes away.</param>
    protected virtual ValueTask CompleteStreamAsync(StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.ReleaseHeld();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Called once when the stream ends without <see cref="CompleteStreamAsync"/>: the client went away, the backend
    /// failed, or a policy threw or completed the stream early. For bookkeeping only; nothing can be emitted.
    /// </summary>
    /// <param name="context">This stream's context.</param>
    protected virtual void OnStreamEndedEarly(StreamingContext context)
    {
    }

    // The stream iterator drives the per-chunk hooks, which stay protected: they are a policy's own business.
    internal ValueTask ProcessChunkCoreAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken) =>
        ProcessChunkAsync(chunk, context, cancellationToken);

    internal ValueTask CompleteStreamCoreAsync(StreamingContext context, CancellationToken cancellationToken) =>
        CompleteStreamAsync(context, cancellationToken);

    internal void OnStreamEndedEarlyCore(StreamingContext context) => OnStreamEndedEarly(context);

    private ValueTask ApplyResponseAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        var response = transaction.Response;
        if (transaction.Request.Kind == RequestKind.Passthrough)
        {
            // Answers passed through unparsed are not read by response policies (only allow-listed, non-model routes are).
            return ValueTask.CompletedTask;
        }

        if (response.Stream is not null)
        {
            return ApplyStreamingAsync(transaction, cancellationToken);
        }

        return response.StatusCode is >= 200 and < 300 && response.BodyStream is null
            ? ApplyNonStreamingAsync(transaction, cancellationToken)
            : ValueTask.CompletedTask;
    }
}
