using System.Text;

namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="ToolCallPolicy"/> (<c>ToolCallPolicy</c> in policy files).</summary>
internal sealed class ToolCallOptions : PolicyOptions
{
    /// <summary>The only tools the model may call; <see langword="null"/> for no allow-list.</summary>
    public IList<string>? AllowedTools { get; set; }

    /// <summary>Tools the model may not call.</summary>
    public IList<string>? BlockedTools { get; set; }
}

/// <summary>
/// Lets the model call only allowed tools. A call that is not allowed is never shown to the client, not even its first
/// fragment, and its slot ends with <c>finish_reason: "content_filter"</c> (calls after it go too; allowed calls and text
/// before it stay); allowed calls pass fragment for fragment as the backend sent them. Calls are judged on the
/// API-neutral <see cref="StreamChunk.Output"/>, in streamed and buffered answers alike: in a stream each call's name is
/// reassembled per slot and call, and a call is judged once its name is settled (its next fragment, another call, or
/// the end of the slot arrives), its chunks held until then. Legacy <c>function_call</c>s are judged the same way.
/// </summary>
public sealed class ToolCallPolicy : StreamingControlPolicy
{
    private readonly HashSet<string>? _allowed;
    private readonly HashSet<string> _blocked;

    /// <summary>Creates the policy.</summary>
    /// <param name="allowedTools">The only tools allowed, or <see langword="null"/>.</param>
    /// <param name="blockedTools">Tools never allowed, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">Neither list is given.</exception>
    public ToolCallPolicy(IEnumerable<string>? allowedTools, IEnumerable<string>? blockedTools = null)
    {
        if (allowedTools is null && blockedTools is null)
        {
            throw new ArgumentException("one of 'allowed_tools' or 'blocked_tools' is required.", nameof(allowedTools));
        }

        _allowed = allowedTools is null ? null : new HashSet<string>(allowedTools, StringComparer.Ordinal);
        _blocked = new HashSet<string>(blockedTools ?? [], StringComparer.Ordinal);
    }

    /// <summary>Whether a tool may be called.</summary>
    /// <param name="name">The tool's name.</param>
    public bool IsAllowed(string name) => (_allowed is null || _allowed.Contains(name)) && !_blocked.Contains(name);

    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        var state = context.GetOrCreateState(() => new StreamState());

        // Cheap pre-checks on a stream's raw bytes, before any event is read. A chunk that mentions no call while nothing is
        // held passes untouched, unparsed. A chunk with a \u escape is read: "tool\u005fcalls" is tool_calls to a client,
        // and invisible to a byte search.
        var raw = !context.IsBuffered && !chunk.IsModified;
        var data = raw ? chunk.Data.Span : default;
        if (raw && state.Pending.Count == 0 && state.BlockedAt.Count == 0 &&
            data.IndexOf("\"tool_calls\""u8) < 0 && data.IndexOf("\"function_call\""u8) < 0 && data.IndexOf("\\u"u8) < 0)
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        // More fragments of calls already judged allowed, nothing held or blocked: pass them unparsed. Not a fragment
        // that may carry a name (a call renamed after it was judged is refused below).
        if (raw && state.Pending.Count == 0 && state.BlockedAt.Count == 0 &&
            data.IndexOf("\"name\""u8) < 0 && data.IndexOf("\\u"u8) < 0 &&
            ChoiceScanner.TryScanToolCalls(data, state.Scratch, state.Shapes) && AllAllowed(state))
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        var output = chunk.Output;
        foreach (var item in output)
        {
            if (item.IsRemoved || state.BlockedAt.ContainsKey(item.Slot))
            {
                continue;
            }

            if (item.Kind is OutputKind.ToolCall or OutputKind.ToolArguments)
            {
                Track(item, output, state);
            }
            else if (item.Kind == OutputKind.Finish)
            {
                JudgeSlot(item.Slot, exceptCall: null, state);
            }
        }

        context.Hold(chunk);
        if (state.Pending.Count == 0 || state.NewlyBlocked.Count > 0)
        {
            Release(context, state);
        }

        if (state.BlockedAt.Count >= context.AnswerCount)
        {
            context.Complete();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override ValueTask CompleteStreamAsync(StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is StreamState state)
        {
            foreach (var key in state.Pending.Keys.ToList())
            {
                Judge(key, state);
            }

            Release(context, state);
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    /// <summary>Follows one fragment of a call: its name grows, or it settles (and so the call is judged).</summary>
    private void Track(OutputEvent item, IReadOnlyList<OutputEvent> output, StreamState state)
    {
        var key = (item.Slot, item.ToolIndex);

        // Another call of the slot has begun: the calls before it have their whole names.
        JudgeSlot(item.Slot, exceptCall: item.ToolIndex, state);
        var namePiece = item.Kind == OutputKind.ToolCall ? item.ToolName ?? string.Empty : string.Empty;
        if (state.Pending.TryGetValue(key, out var name))
        {
            if (namePiece.Length > 0)
            {
                name.Append(namePiece);
            }
            else if (!CarriesName(output, key))
            {
                // A later fragment without a piece of the name: the name is complete.
                Judge(key, state);
            }
        }
        else if (!state.Allowed.Contains(key))
        {
            state.Pending[key] = new StringBuilder(namePiece);
        }
        else if (namePiece.Length > 0)
        {
            // More of a name after the call was judged allowed: a client would show (and run) the new name.
            throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
        }
    }

    /// <summary>Whether the chunk carries a piece of this call's name (its argument fragment then does not settle it).</summary>
    private static bool CarriesName(IReadOnlyList<OutputEvent> output, (int Slot, int Call) key)
    {
        foreach (var item in output)
        {
            if (item.Kind == OutputKind.ToolCall && item.Slot == key.Slot && item.ToolIndex == key.Call && !string.IsNullOrEmpty(item.ToolName))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Judges every pending call of a slot (but one).</summary>
    private void JudgeSlot(int slot, int? exceptCall, StreamState state)
    {
        if (state.Pending.Count == 0)
        {
            return;
        }

        foreach (var key in state.Pending.Keys.ToList())
        {
            if (key.Slot == slot && key.Call != exceptCall)
            {
                Judge(key, state);
            }
        }
    }

    /// <summary>Whether every call in the scanned chunk was judged allowed (a loop: a method group would allocate).</summary>
    private static bool AllAllowed(StreamState state)
    {
        foreach (var call in state.Scratch)
        {
            if (!state.Allowed.Contains(call))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Decides a pending call by its settled name.</summary>
    private void Judge((int Slot, int Call) key, StreamState state)
    {
        if (!state.Pending.Remove(key, out var name))
        {
            return;
        }

        if (IsAllowed(name.ToString()))
        {
            state.Allowed.Add(key);
        }
        else if (!state.BlockedAt.ContainsKey(key.Slot) && (!state.NewlyBlocked.TryGetValue(key.Slot, out var first) || key.Call < first))
        {
            state.NewlyBlocked[key.Slot] = key.Call;
        }
    }

    /// <summary>
    /// Ends newly blocked slots (what is held of them from the blocked call on goes, and the slot ends with
    /// <c>content_filter</c>), then lets out the held chunks if no call is undecided.
    /// </summary>
    private static void Release(StreamingContext context, StreamState state)
    {
        if (state.NewlyBlocked.Count > 0)
        {
            foreach (var (slot, call) in state.NewlyBlocked)
            {
                state.BlockedAt[slot] = call;
                foreach (var key in state.Pending.Keys.ToList())
                {
                    if (key.Slot == slot)
                    {
                        state.Pending.Remove(key);
                    }
                }
            }

            state.NewlyBlocked.Clear();
        }

        if (state.Pending.Count > 0)
        {
            return;
        }

        var held = context.DiscardHeld();
        foreach (var chunk in held)
        {
            Trim(chunk, state);
        }

        // The ends ride on the last held chunk, but never on the usage chunk: the host keeps that one from a client that
        // did not ask for usage, and knows it by its empty choices. With no other chunk held, an end of its own goes first.
        var endAt = held.Count - 1;
        while (endAt >= 0 && StreamUsage.IsUsageChunk(held[endAt]))
        {
            endAt--;
        }

        StreamChunk? end = null;
        foreach (var (slot, _) in state.BlockedAt)
        {
            if (state.Ended.Add(slot))
            {
                end ??= endAt >= 0 ? held[endAt] : context.CreateChunk();
                end.Add(OutputEvent.CreateFinish(slot));
            }
        }

        if (end is not null && endAt < 0)
        {
            context.Emit(end);
        }

        foreach (var chunk in held)
        {
            context.Emit(chunk);
        }
    }

    /// <summary>Takes out of a chunk what a client must not see of the blocked slots.</summary>
    private static void Trim(StreamChunk chunk, StreamState state)
    {
        if (state.BlockedAt.Count == 0)
        {
            return;
        }

        foreach (var item in chunk.Output)
        {
            if (item.IsAdded || !state.BlockedAt.TryGetValue(item.Slot, out var blockedAt))
            {
                continue;
            }

            if (state.Ended.Contains(item.Slot))
            {
                // The slot ended before this chunk: nothing more of it is shown.
                chunk.RemoveSlot(item.Slot);
                continue;
            }

            // Of the slot's calls only those judged allowed and made before the blocked one stay: a call never judged (begun
            // after the blocked one under a lower index, or a legacy function_call beside tool_calls) is not "before" it.
            var isCall = item.Kind is OutputKind.ToolCall or OutputKind.ToolArguments;
            var after = blockedAt < 0 ? item.ToolIndex < 0 : item.ToolIndex >= blockedAt;
            if (item.Kind == OutputKind.Finish || (isCall && (after || !state.Allowed.Contains((item.Slot, item.ToolIndex)))))
            {
                item.Remove();
            }
        }
    }

    private sealed class StreamState
    {
        public Dictionary<(int Slot, int Call), StringBuilder> Pending { get; } = [];

        public HashSet<(int Slot, int Call)> Allowed { get; } = [];

        /// <summary>Blocked slots, with the first call not allowed.</summary>
        public Dictionary<int, int> BlockedAt { get; } = [];

        public Dictionary<int, int> NewlyBlocked { get; } = [];

        /// <summary>Blocked slots whose content_filter end was sent.</summary>
        public HashSet<int> Ended { get; } = [];

        public List<(int Choice, int Call)> Scratch { get; } = [];

        public ChunkShapeCache Shapes { get; } = new();
    }
}
