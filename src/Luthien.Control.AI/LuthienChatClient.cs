using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AI;

/// <summary>
/// A chat client that runs Luthien.Control's policy pipeline around the next client: the in-process twin of the HTTP
/// endpoints. Made by <see cref="LuthienChatClientBuilderExtensions.UseLuthienControl"/>.
/// </summary>
/// <remarks>
/// <para>
/// A call becomes a chat-completions <see cref="Transaction"/> (its request payload built from the messages and
/// options), so a policy written for the endpoints works here unchanged, conditions on <c>request.payload.model</c>
/// included. <c>SendBackendRequest</c> calls the next client; its answer is seen by the response policies as the
/// endpoints' answer would be, update by update when streamed.
/// </para>
/// <para>
/// What the app gets back is the next client's own response or update, <see cref="ChatResponse.RawRepresentation"/>
/// and all, wherever no policy changed it; where one did, a new one built from what the policies let through, with no
/// raw representation or additional properties (they could hold what was removed). A rejection throws the
/// <see cref="ControlException"/> the endpoints would have answered with (same <see cref="ControlException.Code"/>);
/// the next client's own exceptions pass through as they are.
/// </para>
/// </remarks>
internal sealed class LuthienChatClient : DelegatingChatClient
{
    private readonly HostPipeline _pipeline;
    private readonly TelemetryStep _telemetry;
    private readonly TransactionLogWriter _log;
    private readonly IOptionsMonitor<LuthienOptions> _options;

    /// <summary>Creates the client.</summary>
    /// <param name="innerClient">The next client: what <c>SendBackendRequest</c> calls.</param>
    /// <param name="services">The application's services, where <c>AddLuthienControl</c> registered the pipeline.</param>
    /// <exception cref="InvalidOperationException"><c>AddLuthienControl</c> was not called on these services.</exception>
    public LuthienChatClient(IChatClient innerClient, IServiceProvider services)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(services);
        _pipeline = services.GetService<HostPipeline>() ?? throw new InvalidOperationException(
            "UseLuthienControl needs the services AddLuthienControl registers: call services.AddLuthienControl(…) first, and build the chat client from those services.");
        _telemetry = services.GetRequiredService<TelemetryStep>();
        _log = services.GetRequiredService<TransactionLogWriter>();
        _options = services.GetRequiredService<IOptionsMonitor<LuthienOptions>>();
    }

    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var call = new ChatClientBackend(InnerClient, messages, options, stream: false);
        var transaction = call.CreateTransaction(cancellationToken);
        await using var record = Begin(transaction);
        try
        {
            await _pipeline.RunAsync(transaction, cancellationToken).ConfigureAwait(false);
            var answer = call.Answer(transaction);
            record.Answered(transaction.Response.Body.Span);
            return answer;
        }
        catch (Exception ex)
        {
            record.Failed(ex, cancellationToken);
            Rethrow(ex);
            throw;
        }
        finally
        {
            transaction.Response.Owner?.Dispose();
        }
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var call = new ChatClientBackend(InnerClient, messages, options, stream: true);
        var transaction = call.CreateTransaction(cancellationToken);
        await using var record = Begin(transaction);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        try
        {
            try
            {
                await _pipeline.RunAsync(transaction, cancellationToken).ConfigureAwait(false);
                var stream = ChatClientBackend.Stream(transaction);

                // Nothing after the backend reads the stream (no policy or step wrapped it, no log keeps it): the next
                // client's updates go to the app as they are, with nothing written as JSON or read back.
                updates = stream is ChatClientStreamingIterator direct && !record.KeepsStream
                    ? direct.UpdatesAsync(cancellationToken).GetAsyncEnumerator(cancellationToken)
                    : PolicedAsync(stream, new ChatUpdateRebuilder(call.Streamed!), record.BeginStream(), cancellationToken).GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception ex)
            {
                record.Failed(ex, cancellationToken);
                Rethrow(ex);
                throw;
            }

            while (true)
            {
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }
                }
                catch (Exception ex)
                {
                    record.Failed(ex, cancellationToken);
                    Rethrow(ex, midStream: true);
                    throw;
                }

                yield return updates.Current;
            }
        }
        finally
        {
            if (updates is not null)
            {
                await updates.DisposeAsync().ConfigureAwait(false);
            }

            if (transaction.Response.Stream is { } stream)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            transaction.Response.Owner?.Dispose();
        }
    }

    /// <summary>
    /// The updates the app gets from the chunks that leave the policies (each chunk's bytes kept in the log's
    /// transcript). Updates with function calls come last: a policy may end the answer after a call went by (text held
    /// before it became a match), and an answer that ends in <c>content_filter</c> runs no function — its calls never
    /// reach the function-invoking client, which runs calls only once the stream has ended anyway.
    /// </summary>
    private static async IAsyncEnumerable<ChatResponseUpdate> PolicedAsync(
        StreamingResponseIterator stream, ChatUpdateRebuilder rebuilder, StreamTranscript? transcript, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<ChatResponseUpdate>? calls = null;
        var filtered = false;
        await foreach (var chunk in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            ChatResponseUpdate? update;
            try
            {
                update = rebuilder.Next(chunk);
                if (transcript is not null && chunk.Data is { IsEmpty: false } data)
                {
                    transcript.Add(data.Span);
                }
            }
            finally
            {
                chunk.Release();
            }

            if (update is null)
            {
                continue;
            }

            filtered |= update.FinishReason == ChatFinishReason.ContentFilter;
            if (HasCall(update))
            {
                (calls ??= []).Add(update);
                continue;
            }

            yield return update;
        }

        if (rebuilder.Complete() is { } last)
        {
            if (HasCall(last))
            {
                (calls ??= []).Add(last);
            }
            else
            {
                yield return last;
            }
        }

        foreach (var update in calls ?? [])
        {
            if (filtered)
            {
                // The answer ended in content_filter: its calls, and the tool_calls end they announced, are gone.
                RemoveCalls(update);
                update.FinishReason = update.FinishReason is null ? null : ChatFinishReason.ContentFilter;
                if (update.Contents.Count == 0 && update.FinishReason is null)
                {
                    continue;
                }
            }

            yield return update;
        }
    }

    private static bool HasCall(ChatResponseUpdate update)
    {
        foreach (var content in update.Contents)
        {
            if (content is FunctionCallContent)
            {
                return true;
            }
        }

        return false;
    }

    private static void RemoveCalls(ChatResponseUpdate update)
    {
        var contents = update.Contents;
        for (var i = contents.Count - 1; i >= 0; i--)
        {
            if (contents[i] is FunctionCallContent)
            {
                contents.RemoveAt(i);
            }
        }
    }

    private CallRecord Begin(Transaction transaction) =>
        new(transaction, _telemetry, _log, _options.CurrentValue.TransactionLog.MaxBodyBytes);

    /// <summary>
    /// Throws what the app catches instead of <paramref name="exception"/>, where that is another: the next client's own
    /// exception as it threw it; anything but one of ours or a cancellation that a policy threw while the answer streamed,
    /// as the endpoints' <c>policy_error</c>. Returns when <paramref name="exception"/> is it.
    /// </summary>
    private static void Rethrow(Exception exception, bool midStream = false)
    {
        if (exception is InnerClientException { InnerException: { } inner })
        {
            ExceptionDispatchInfo.Capture(inner).Throw();
        }

        if (midStream && exception is not (ControlException or OperationCanceledException))
        {
            throw ControlFailureException.PolicyFailedMidStream(exception);
        }
    }
}
