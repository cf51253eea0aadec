namespace Luthien.Control.Streaming;

/// <summary>
/// Finds patterns in the text the model produces and redacts them or blocks the rest of the answer, in streamed and
/// buffered answers alike, on every API the adapters read: answer text, refusals, tool-call arguments, reasoning and
/// audio transcripts (<see cref="Scope"/> narrows it). Each is a channel of its own, per slot and, for arguments, per
/// call: a match split across chunks of one channel is still found; text of two channels never joins into one match.
/// Only text that could still become a match is held back (for <c>SECRET-[0-9]{6}</c>, "one two" goes out at once);
/// a slot's end lets out what its channels held (text, refusal, reasoning, transcript, then arguments by call), and the
/// end of the stream what is left. <c>block</c> on any channel ends the slot before the match with
/// <c>finish_reason: "content_filter"</c> (what its other channels held before is let out first); no part of a blocked
/// match reaches the client.
/// </summary>
/// <remarks>
/// Tool-call arguments are matched as the client receives them (JSON text for function tools, escapes as sent). A
/// redaction there keeps JSON text JSON: inside a string the replacement is JSON-escaped; quotes, brackets, colons and
/// commas a match spans are kept, each run of string content it covers becoming one replacement; a number or literal it
/// covers becomes the replacement as a JSON string. Only a match covering part of a number or literal (say the last
/// digits of <c>12345</c>) can leave the arguments invalid JSON, so patterns for arguments should match whole values.
/// Arguments whose first non-blank character is not <c>{</c> or <c>[</c> (a custom tool's free-form input) get the
/// replacement as it is.
/// </remarks>
public sealed partial class ResponseContentPolicy : StreamingControlPolicy, ISecretPatterns
{
    private static readonly (string Name, ContentScope Scope)[] ScopeNames =
    [
        ("text", ContentScope.Text),
        ("refusal", ContentScope.Refusal),
        ("tool_arguments", ContentScope.ToolArguments),
        ("reasoning", ContentScope.Reasoning),
        ("audio_transcript", ContentScope.AudioTranscript),
    ];

    private readonly ContentPatterns _patterns;
    private readonly int _maxHoldbackChars;

    /// <summary>Creates the policy.</summary>
    /// <param name="patterns">Regular expressions (see <see cref="PatternPrefixAutomaton"/> for the supported subset).</param>
    /// <param name="action">Redact or block.</param>
    /// <param name="replacement">The replacement text for redaction.</param>
    /// <param name="maxHoldbackChars">The most text held back per channel (a slot's text, refusal, … or one call's arguments).</param>
    /// <param name="scope">Which text to read; all by default.</param>
    /// <exception cref="ArgumentException">A pattern is invalid, or the scope is empty or names no known kind.</exception>
    public ResponseContentPolicy(IReadOnlyList<string> patterns, ContentAction action = ContentAction.Redact, string replacement = "[REDACTED]", int maxHoldbackChars = 16 * 1024, ContentScope scope = ContentScope.All)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHoldbackChars);
        if (scope == ContentScope.None || (scope & ~ContentScope.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(scope), scope, "scope must name at least one of the kinds of ContentScope, and nothing else.");
        }

        _patterns = new ContentPatterns(patterns);
        _patternTexts = [.. patterns];
        Action = action;
        Replacement = replacement;
        Scope = scope;
        _maxHoldbackChars = maxHoldbackChars;
    }

    private readonly string[] _patternTexts;

    /// <inheritdoc />
    /// <remarks>What this policy removes from answers is kept out of the audit log's rows too (a prompt may carry it).</remarks>
    IEnumerable<string> ISecretPatterns.SecretPatterns => _patternTexts;

    /// <summary>Which text the policy reads.</summary>
    public ContentScope Scope { get; }

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

    /// <summary>Reads the <c>scope</c> field.</summary>
    /// <param name="scope">
    /// Names of <c>text</c>, <c>refusal</c>, <c>tool_arguments</c>, <c>reasoning</c>, <c>audio_transcript</c> (case and
    /// surrounding blanks ignored); <see langword="null"/> for all.
    /// </param>
    /// <exception cref="ArgumentException">An unknown name, or an empty list.</exception>
    public static ContentScope ParseScope(IEnumerable<string?>? scope)
    {
        if (scope is null)
        {
            return ContentScope.All;
        }

        var result = ContentScope.None;
        foreach (var name in scope)
        {
            var key = name?.Trim().ToLowerInvariant();
            var found = Array.Find(ScopeNames, n => n.Name == key);
            if (found.Name is null)
            {
                throw new ArgumentException($"scope '{name}' is not one of {string.Join(", ", ScopeNames.Select(n => n.Name))}.", nameof(scope));
            }

            result |= found.Scope;
        }

        return result != ContentScope.None
            ? result
            : throw new ArgumentException("scope is empty: name at least one kind of text, or leave it out for all.", nameof(scope));
    }

    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is not StreamState state)
        {
            // Not GetOrCreateState with a lambda: capturing the context would cost a closure on every chunk.
            state = new StreamState(context.Transaction);
            context.State = state;
        }

        var output = chunk.Output;
        state.Added.Clear();

        // Not a count taken first: events this policy adds (released text, the end of a blocked slot) land anywhere in the
        // list, and are known by reference so that they are not filtered twice.
        for (var i = 0; i < output.Count; i++)
        {
            var item = output[i];
            if (item.IsRemoved || (state.Added.Count > 0 && state.Added.Contains(item)))
            {
                continue;
            }

            if (state.Blocked.Contains(item.Slot))
            {
                // The slot was ended by the policy: nothing more of it is shown.
                chunk.RemoveSlot(item.Slot);
                continue;
            }

            if (item.HasText && InScope(item.Kind))
            {
                FilterText(chunk, item, i, state, context);
            }
            else if (item.Kind == OutputKind.Finish && state.Finished.Add(item.Slot) && state.Filters.Count > 0)
            {
                // The slot ends here: nothing more can complete a match, so everything its channels hold is decided now and
                // let out before the end.
                if (FlushSlot(chunk, item.Slot, state))
                {
                    // The match is in text held from before this chunk: the chunk's calls came after it, and go with it.
                    RemoveCalls(output, item.Slot, state);
                    Block(chunk, item.Slot, PositionOf(output, item), state);
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
        if (context.State is StreamState state && state.Filters.Count > 0)
        {
            foreach (var slot in state.Filters.Keys.Select(c => c.Slot).Distinct().Order().ToList())
            {
                if (state.Blocked.Contains(slot) || state.Finished.Contains(slot))
                {
                    continue;
                }

                var chunk = context.CreateChunk();
                state.Added.Clear();
                if (FlushSlot(chunk, slot, state))
                {
                    state.Blocked.Add(slot);
                    chunk.Add(OutputEvent.CreateFinish(slot));
                }

                if (chunk.Output.Count > 0)
                {
                    context.Emit(chunk);
                }
            }
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    private static int PositionOf(IReadOnlyList<OutputEvent> output, OutputEvent item)
    {
        for (var i = 0; i < output.Count; i++)
        {
            if (ReferenceEquals(output[i], item))
            {
                return i;
            }
        }

        return -1;
    }

    private bool InScope(OutputKind kind) => kind switch
    {
        OutputKind.Text => (Scope & ContentScope.Text) != 0,
        OutputKind.Refusal => (Scope & ContentScope.Refusal) != 0,
        OutputKind.ToolArguments => (Scope & ContentScope.ToolArguments) != 0,
        OutputKind.Reasoning => (Scope & ContentScope.Reasoning) != 0,
        OutputKind.AudioTranscript => (Scope & ContentScope.AudioTranscript) != 0,
        _ => false,
    };

    /// <summary>Runs a piece of a channel's text through the channel's filter; the event keeps what may be sent now.</summary>
    private void FilterText(StreamChunk chunk, OutputEvent item, int position, StreamState state, StreamingContext context)
    {
        var slot = item.Slot;
        if (state.Finished.Contains(slot))
        {
            if (item.Text.Length > 0)
            {
                // Its channels were flushed at the finish: text after it could complete a match that was let out.
                throw BackendException.InvalidResponse("a choice sent text after its finish_reason.");
            }

            return;
        }

        var channel = Channel.Of(item);
        var arguments = item.Kind == OutputKind.ToolArguments;
        FilterOutput result;
        if (!state.Filters.TryGetValue(channel, out var filter))
        {
            if (EndsInThisChunk(chunk, channel, position, context.IsBuffered))
            {
                // The channel's whole text is here (a buffered answer, said to end or not, or a stream whose slot ends in
                // this chunk): one pass over it, with no hold-back limit, since nothing waits.
                result = StreamingPatternFilter.ApplyToWhole(_patterns, Action, Replacement, item.Text, arguments);
                item.Text = result.Text;
                Decided(result, state);
                if (result.Blocked)
                {
                    Block(chunk, slot, position, state);
                }

                return;
            }

            filter = new StreamingPatternFilter(_patterns, Action, Replacement, _maxHoldbackChars, arguments);
            state.Filters[channel] = filter;
        }

        result = filter.Append(item.Text);
        item.Text = result.Text;
        Decided(result, state);
        if (result.Blocked)
        {
            Block(chunk, slot, position, state);
        }
    }

    /// <summary>
    /// Whether this text is its channel's last before the slot's end in this chunk (in a buffered answer, its last at
    /// all). Not when more of the channel follows first (more content parts, text a policy ahead added before the end):
    /// the pieces then go through the channel's filter as one text.
    /// </summary>
    private static bool EndsInThisChunk(StreamChunk chunk, Channel channel, int position, bool buffered)
    {
        var output = chunk.Output;
        for (var i = position + 1; i < output.Count; i++)
        {
            var other = output[i];
            if (other.Slot != channel.Slot || other.IsRemoved)
            {
                continue;
            }

            if (other.Kind == OutputKind.Finish)
            {
                return true;
            }

            if (other.HasText && Channel.Of(other) == channel)
            {
                return false;
            }
        }

        return buffered;
    }

    /// <summary>
    /// Decides what a slot's channels hold, in a fixed order, and adds what they let out to the chunk (before the slot's
    /// end, if the chunk has it); returns whether one of them blocked.
    /// </summary>
    private static bool FlushSlot(StreamChunk chunk, int slot, StreamState state)
    {
        List<Channel>? channels = null;
        foreach (var channel in state.Filters.Keys)
        {
            if (channel.Slot == slot)
            {
                (channels ??= []).Add(channel);
            }
        }

        if (channels is null)
        {
            return false;
        }

        channels.Sort();
        var blocked = false;
        foreach (var channel in channels)
        {
            state.Filters.Remove(channel, out var filter);
            var rest = filter!.Flush();
            blocked |= rest.Blocked;
            Decided(rest, state);

            if (rest.Text.Length > 0)
            {
                var released = channel.Kind == OutputKind.ToolArguments
                    ? OutputEvent.CreateToolArguments(slot, channel.Tool, rest.Text)
                    : OutputEvent.CreateText(slot, rest.Text, channel.Kind);
                chunk.Add(released);
                state.Added.Add(released);
            }
        }

        return blocked;
    }

    private static void RemoveCalls(IReadOnlyList<OutputEvent> output, int slot, StreamState state)
    {
        foreach (var item in output)
        {
            if (item.Slot == slot && item.Kind is (OutputKind.ToolCall or OutputKind.ToolArguments) && !state.Added.Contains(item))
            {
                item.Remove();
            }
        }
    }

    /// <summary>The policy's name in policy files and audit decisions.</summary>
    internal const string TypeName = "ResponseContentPolicy";

    /// <summary>
    /// Ends a slot at a match: what came after the event at <paramref name="position"/> goes, what its other channels held
    /// (from before the match) is let out, and the slot ends with <c>content_filter</c>.
    /// </summary>
    private static void Block(StreamChunk chunk, int slot, int position, StreamState state)
    {
        var output = chunk.Output;
        for (var i = position; i < output.Count; i++)
        {
            // Everything of the slot after the match goes, and an end it had gives way to content_filter.
            if (output[i].Slot == slot && (i > position || output[i].Kind == OutputKind.Finish) && !state.Added.Contains(output[i]))
            {
                output[i].Remove();
            }
        }

        // A second match in another channel's held text only shortens what is let out of it.
        FlushSlot(chunk, slot, state);
        state.Blocked.Add(slot);
        var end = OutputEvent.CreateFinish(slot);
        chunk.Add(end);
        state.Added.Add(end);
    }
}
