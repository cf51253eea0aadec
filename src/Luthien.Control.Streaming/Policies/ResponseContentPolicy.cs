
namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="ResponseContentPolicy"/> (<c>ResponseContentPolicy</c> in policy files).</summary>
internal sealed class ResponseContentOptions : PolicyOptions
{
    /// <summary>Regular expressions to look for in assistant text.</summary>
    public IList<string> Patterns { get; set; } = [];

    /// <summary><c>redact</c> (default) or <c>block</c>.</summary>
    public string Action { get; set; } = "redact";

    /// <summary>The text that replaces a match when redacting. Default <c>[REDACTED]</c>.</summary>
    public string Replacement { get; set; } = "[REDACTED]";
}

/// <summary>
/// Finds patterns in the assistant's text and redacts them or blocks the rest of the answer, in streamed and buffered
/// answers alike. In a stream, a match split across chunks is still found; only text that could still become a match is
/// held back (for <c>SECRET-[0-9]{6}</c>, "one two" goes out at once). <c>block</c> ends the choice before the match
/// with <c>finish_reason: "content_filter"</c>; no part of a blocked match reaches the client.
/// </summary>
public sealed class ResponseContentPolicy : StreamingControlPolicy
{
    private readonly ContentPatterns _patterns;
    private readonly int _maxHoldbackChars;

    /// <summary>Creates the policy.</summary>
    /// <param name="patterns">Regular expressions (see <see cref="PatternPrefixAutomaton"/> for the supported subset).</param>
    /// <param name="action">Redact or block.</param>
    /// <param name="replacement">The replacement text for redaction.</param>
    /// <param name="maxHoldbackChars">The most text held back per choice.</param>
    /// <exception cref="ArgumentException">A pattern is invalid.</exception>
    public ResponseContentPolicy(IReadOnlyList<string> patterns, ContentAction action = ContentAction.Redact, string replacement = "[REDACTED]", int maxHoldbackChars = 16 * 1024)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHoldbackChars);
        _patterns = new ContentPatterns(patterns);
        Action = action;
        Replacement = replacement;
        _maxHoldbackChars = maxHoldbackChars;
    }

    /// <summary>Redact or block.</summary>
    public ContentAction Action { get; }

    /// <summary>The replacement text.</summary>
    public string Replacement { get; }

    /// <summary>Reads the <c>action</c> field.</summary>
    /// <param name="action"><c>redact</c> or <c>block</c>.</param>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static ContentAction ParseAction(string? action) => action?.Trim().ToLowerInvariant() switch
    {
        null or "" or "redact" => ContentAction.Redact,
        "block" => ContentAction.Block,
        _ => throw new ArgumentException($"action '{action}' is not 'redact' or 'block'.", nameof(action)),
    };

    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is not StreamState state)
        {
            // Not GetOrCreateState with a lambda: capturing the context would cost a closure on every chunk.
            state = new StreamState();
            context.State = state;
        }

        var output = chunk.Output;
        var count = output.Count;
        for (var i = 0; i < count; i++)
        {
            var item = output[i];
            if (item.IsRemoved)
            {
                continue;
            }

            if (state.Blocked.Contains(item.Slot))
            {
                // The slot was ended by the policy: nothing more of it is shown.
                chunk.RemoveSlot(item.Slot);
                continue;
            }

            if (item.Kind == OutputKind.Text)
            {
                FilterText(chunk, item, i, state, context);
            }
            else if (item.Kind == OutputKind.Finish && state.Finished.Add(item.Slot) && state.Filters.TryGetValue(item.Slot, out var filter))
            {
                // The slot ends here: nothing more can complete a match, so everything held is decided now. What is let
                // out goes in before the end, which moves one place on.
                var rest = filter.Flush();
                if (rest.Text.Length > 0)
                {
                    Release(chunk, item.Slot, rest.Text);
                    i++;
                    count++;
                }

                if (rest.Blocked)
                {
                    Block(chunk, item.Slot, i, state);
                }
            }
        }

        context.Emit(chunk);
        if (state.Blocked.Count >= context.AnswerCount)
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
            foreach (var (slot, filter) in state.Filters.OrderBy(f => f.Key))
            {
                if (state.Blocked.Contains(slot) || state.Finished.Contains(slot))
                {
                    continue;
                }

                var rest = filter.Flush();
                if (rest.Text.Length == 0 && !rest.Blocked)
                {
                    continue;
                }

                var chunk = context.CreateChunk();
                Release(chunk, slot, rest.Text);
                if (rest.Blocked)
                {
                    chunk.Add(OutputEvent.CreateFinish(slot));
                }

                context.Emit(chunk);
            }
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    /// <summary>Runs a piece of a slot's text through the slot's filter; the event keeps what may be sent now.</summary>
    private void FilterText(StreamChunk chunk, OutputEvent item, int position, StreamState state, StreamingContext context)
    {
        var slot = item.Slot;
        if (state.Finished.Contains(slot))
        {
            if (item.Text.Length > 0)
            {
                // Its filter was flushed at the finish: text after it could complete a match that was let out.
                throw BackendException.InvalidResponse("a choice sent text after its finish_reason.");
            }

            return;
        }

        FilterOutput result;
        if (!state.Filters.TryGetValue(slot, out var filter))
        {
            if (EndsInThisChunk(chunk, slot, position, context.IsBuffered))
            {
                // The whole text of the slot is here (a buffered answer, said to end or not, or a stream of one chunk): one
                // pass over it, with no hold-back limit, since nothing waits.
                result = StreamingPatternFilter.ApplyToWhole(_patterns, Action, Replacement, item.Text);
                state.Finished.Add(slot);
                item.Text = result.Text;
                if (result.Blocked)
                {
                    Block(chunk, slot, position, state);
                }

                return;
            }

            filter = new StreamingPatternFilter(_patterns, Action, Replacement, _maxHoldbackChars);
            state.Filters[slot] = filter;
        }

        result = filter.Append(item.Text);
        item.Text = result.Text;
        if (result.Blocked)
        {
            Block(chunk, slot, position, state);
        }
    }

    /// <summary>
    /// Whether this text is the slot's last before its end in this chunk (in a buffered answer, its last at all). Not when
    /// more of its text follows first (more content parts, text a policy ahead added before the end): the pieces then go
    /// through the slot's filter as one text.
    /// </summary>
    private static bool EndsInThisChunk(StreamChunk chunk, int slot, int position, bool buffered)
    {
        var output = chunk.Output;
        for (var i = position + 1; i < output.Count; i++)
        {
            if (output[i].Slot != slot || output[i].IsRemoved)
            {
                continue;
            }

            if (output[i].Kind == OutputKind.Finish)
            {
                return true;
            }

            if (output[i].Kind == OutputKind.Text)
            {
                return false;
            }
        }

        return buffered;
    }

    /// <summary>Adds text the filter let out at the end to the slot, after its own text in this chunk.</summary>
    private static void Release(StreamChunk chunk, int slot, string text)
    {
        if (text.Length > 0)
        {
            chunk.Add(OutputEvent.CreateText(slot, text));
        }
    }

    /// <summary>Ends a slot at a match: what came after the event at <paramref name="position"/> goes, and the slot ends with <c>content_filter</c>.</summary>
    private static void Block(StreamChunk chunk, int slot, int position, StreamState state)
    {
        var output = chunk.Output;
        for (var i = position; i < output.Count; i++)
        {
            // Everything of the slot after the match goes, and an end it had gives way to content_filter.
            if (output[i].Slot == slot && (i > position || output[i].Kind == OutputKind.Finish))
            {
                output[i].Remove();
            }
        }

        state.Blocked.Add(slot);
        chunk.Add(OutputEvent.CreateFinish(slot));
    }

    private sealed class StreamState
    {
        public Dictionary<int, StreamingPatternFilter> Filters { get; } = [];

        public HashSet<int> Blocked { get; } = [];

        /// <summary>Slots whose end was seen (their filters are flushed).</summary>
        public HashSet<int> Finished { get; } = [];
    }
}
