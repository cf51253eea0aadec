using System.Runtime.CompilerServices;
using Luthien.Control.Streaming;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// A chat client's streamed answer as the policies read it: each update one <c>chat.completion.chunk</c>. It serves both
/// hosts. In-process (<see cref="LuthienChatClient"/>, no <see cref="BackendStreamRules"/>) each chunk keeps the update it
/// was made from (handed back as it is when no policy changes the chunk) and what the next client throws passes on as an
/// <see cref="InnerClientException"/>. As the endpoints' backend (<see cref="ChatClientBackendClient"/>) the raw
/// backend's rules apply: its first-chunk and idle timeouts, failures as <see cref="BackendException"/>s, chunks in pooled
/// buffers, the finish reason in a chunk after the last delta, and usage as one usage chunk of its own at the end, only
/// when the request asks for it.
/// </summary>
internal sealed class ChatClientStreamingIterator : StreamingResponseIterator, IUsageDrainSource
{
    private readonly IChatClient _inner;
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private readonly BackendStreamRules? _rules;
    private readonly Dictionary<StreamChunk, ChatResponseUpdate> _origins = new(ReferenceEqualityComparer.Instance);
    private int _enumerated;

    /// <summary>Creates the iterator; nothing is asked of <paramref name="inner"/> before the first chunk is.</summary>
    /// <param name="inner">The chat client.</param>
    /// <param name="messages">The messages to send.</param>
    /// <param name="options">The options to send.</param>
    /// <param name="rules">The endpoints' backend rules, or <see langword="null"/> in-process.</param>
    public ChatClientStreamingIterator(IChatClient inner, IList<ChatMessage> messages, ChatOptions? options, BackendStreamRules? rules = null)
    {
        _inner = inner;
        _messages = messages;
        _options = options;
        _rules = rules;
    }

    /// <inheritdoc />
    public TimeSpan UsageDrain => _rules?.UsageDrain ?? TimeSpan.Zero;

    /// <inheritdoc />
    public TimeProvider TimeProvider => _rules?.TimeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streaming response can be enumerated only once.");
        }

        return _rules is null ? ReadInProcessAsync(cancellationToken) : ReadAsBackendAsync(_rules, cancellationToken);
    }

    /// <summary>
    /// The next client's updates as they are, for a stream nothing after the backend reads (no policy, no step wrapped
    /// it, the audit log off): nothing to write as JSON, nothing to read back. In-process only.
    /// </summary>
    /// <param name="cancellationToken">The app's token.</param>
    public IAsyncEnumerable<ChatResponseUpdate> UpdatesAsync(CancellationToken cancellationToken)
    {
        if (_rules is not null || Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A streaming response can be enumerated only once, and as updates only in-process.");
        }

        return ReadUpdatesAsync(cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> ReadUpdatesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        try
        {
            while (true)
            {
                try
                {
                    updates ??= _inner.GetStreamingResponseAsync(_messages, _options, cancellationToken).GetAsyncEnumerator(cancellationToken);
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
            if (updates is not null)
            {
                await updates.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The update a chunk was made from, in-process, taken out (a chunk is turned back into an update once); null for a
    /// chunk a policy made, or one already taken.
    /// </summary>
    /// <param name="chunk">A chunk that left the policies.</param>
    public ChatResponseUpdate? TakeOrigin(StreamChunk chunk) => _origins.Remove(chunk, out var origin) ? origin : null;

    /// <summary>
    /// In-process: each update one chunk, in a pooled buffer, remembered with the update it stands for. An update that
    /// brings the finish reason waits for the next: when more follow (OpenAI's client reports the finish reason, then the
    /// tool calls it gathered), its chunk goes without the finish reason and a chunk of the finish reason alone comes at
    /// the end, so that the policies see the answer end after its last delta, as on the wire.
    /// </summary>
    private async IAsyncEnumerator<StreamChunk> ReadInProcessAsync(CancellationToken cancellationToken)
    {
        using var writer = new ChatChunkWriter(requestedModel: _options?.ModelId);
        ChatResponseUpdate? finishing = null;
        ChatFinishReason? finish = null;
        try
        {
            await foreach (var update in ReadUpdatesAsync(cancellationToken).ConfigureAwait(false))
            {
                if (finishing is not null)
                {
                    yield return Chunk(writer, WithoutFinish(finishing), finishing);
                    finishing = null;
                }

                if (update.FinishReason is { } reason)
                {
                    finish = reason;
                    finishing = update;
                    continue;
                }

                yield return Chunk(writer, update, update);
            }

            if (finishing is not null)
            {
                yield return Chunk(writer, finishing, finishing);
            }
            else if (finish is not null)
            {
                yield return StreamChunk.CopyToPooled(writer.WriteToScratch(new ChatResponseUpdate { FinishReason = finish }));
            }
        }
        finally
        {
            // Chunks a policy dropped were never taken back.
            _origins.Clear();
        }
    }

    /// <summary>The chunk of <paramref name="written"/>, standing for <paramref name="origin"/>.</summary>
    private StreamChunk Chunk(ChatChunkWriter writer, ChatResponseUpdate written, ChatResponseUpdate origin)
    {
        var contents = written.Contents;
        var chunk = StreamChunk.CopyInProcess(writer.WriteToScratch(written), contents is [TextContent { Text: { } text }] ? text : null);
        _origins[chunk] = origin;
        return chunk;
    }

    /// <summary>A shallow copy of <paramref name="update"/> without its finish reason, for writing only.</summary>
    private static ChatResponseUpdate WithoutFinish(ChatResponseUpdate update) => WithContents(update, update.Contents);

    /// <summary>A copy of <paramref name="update"/>'s metadata with these contents and no finish reason.</summary>
    private static ChatResponseUpdate WithContents(ChatResponseUpdate update, IList<AIContent> contents) => new(update.Role, contents)
    {
        ResponseId = update.ResponseId,
        MessageId = update.MessageId,
        ConversationId = update.ConversationId,
        CreatedAt = update.CreatedAt,
        ModelId = update.ModelId,
        AuthorName = update.AuthorName,
    };

    private async IAsyncEnumerator<StreamChunk> ReadAsBackendAsync(BackendStreamRules rules, CancellationToken cancellationToken)
    {
        using var writer = new ChatChunkWriter(rules.TimeProvider, _options?.ModelId);

        // The raw backend's one clock: the client's cancellation forwarded, and the deadline running only while the
        // chat client is awaited, never while a slow client is written to.
        var timer = new BackendTimer(rules.TimeProvider, cancellationToken);
        await using var timerScope = timer.ConfigureAwait(false);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        Task<bool>? pending = null;
        UsageDetails? usage = null;
        ChatFinishReason? finish = null;
        var first = true;
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                timer.Start(first ? rules.FirstChunk : rules.Idle);
                try
                {
                    updates ??= _inner.GetStreamingResponseAsync(_messages, _options, timer.Token).GetAsyncEnumerator(timer.Token);
                    var moving = updates.MoveNextAsync();
                    bool more;
                    if (moving.IsCompleted)
                    {
                        more = await moving.ConfigureAwait(false);
                    }
                    else
                    {
                        pending = moving.AsTask();
                        more = await ChatClientBackendClient.WithinAsync(pending, timer).ConfigureAwait(false);
                        pending = null;
                    }

                    ChatClientBackendClient.ThrowIfCutShort(timer);
                    if (!more)
                    {
                        break;
                    }

                    update = updates.Current;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    throw ChatClientBackendClient.Failure(ex, timer, rules.Log, started: !first);
                }

                timer.Stop();
                first = false;
                if (ToWrite(update, rules.IncludeUsage, ref usage, ref finish) is { } rest)
                {
                    yield return StreamChunk.CopyToPooled(writer.WriteToScratch(rest));
                }
            }

            if (finish is not null)
            {
                yield return StreamChunk.CopyToPooled(writer.WriteToScratch(new ChatResponseUpdate { FinishReason = finish }));
            }

            if (usage is not null)
            {
                // OpenAI's place for it: a chunk of its own, "choices":[], last before [DONE].
                yield return StreamChunk.CopyToPooled(writer.WriteToScratch(new ChatResponseUpdate { Contents = [new UsageContent(usage)] }));
            }
        }
        finally
        {
            if (updates is not null)
            {
                if (pending is { IsCompleted: false })
                {
                    // Left behind by a chat client that ignores its token: an iterator cannot be disposed while it moves,
                    // so it is disposed once (if ever) that move ends.
                    var abandoned = updates;
                    _ = pending.ContinueWith(_ => abandoned.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                }
                else
                {
                    await updates.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// The update to write, or <see langword="null"/> when it has nothing to write yet. Its usage is taken out (kept in
    /// <paramref name="usage"/> when the request asks for it) and so is its finish reason (kept in
    /// <paramref name="finish"/>): both are written at the end, as a chat-completions client expects them — the finish
    /// reason after the choice's last delta, the usage alone after that. A chat client may send them earlier: OpenAI's
    /// reports the finish reason and usage together, then the tool calls it gathered from the deltas.
    /// </summary>
    private static ChatResponseUpdate? ToWrite(ChatResponseUpdate update, bool includeUsage, ref UsageDetails? usage, ref ChatFinishReason? finish)
    {
        var contents = update.Contents;
        var usages = 0;
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is UsageContent found)
            {
                usages++;
                if (includeUsage)
                {
                    var sum = new UsageDetails();
                    if (usage is not null)
                    {
                        sum.Add(usage);
                    }

                    sum.Add(found.Details);
                    usage = sum;
                }
            }
        }

        finish = update.FinishReason ?? finish;
        if (usages == 0 && update.FinishReason is null)
        {
            return update;
        }

        if (usages == contents.Count)
        {
            return null;
        }

        return WithContents(update, [.. contents.Where(c => c is not UsageContent)]);
    }
}

/// <summary>How the endpoints' <c>IChatClient</c> backend reads a stream (see <see cref="ChatClientBackendClient"/>).</summary>
/// <param name="FirstChunk">How long the chat client may take to its first update (<c>Luthien:Timeouts:FirstChunkSeconds</c>).</param>
/// <param name="Idle">How long it may take between updates (<c>Luthien:Timeouts:IdleSeconds</c>).</param>
/// <param name="UsageDrain">How long to read on for usage after a policy ended the answer (<c>Luthien:Streaming:UsageDrainSeconds</c>).</param>
/// <param name="IncludeUsage">Whether the request asks for the usage chunk (the client's <c>stream_options.include_usage</c>, or the library's own ask).</param>
/// <param name="TimeProvider">The clock.</param>
/// <param name="Log">Logs a failure of the chat client for the transaction.</param>
internal sealed record BackendStreamRules(
    TimeSpan FirstChunk, TimeSpan Idle, TimeSpan UsageDrain, bool IncludeUsage, TimeProvider TimeProvider, Action<Exception, bool> Log);
