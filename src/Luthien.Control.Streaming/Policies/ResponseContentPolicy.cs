using System.Text.Json.Nodes;
using Luthien.Control.Loading;
using Luthien.Control.Streaming.Text;

namespace Luthien.Control.Streaming.Policies;

/// <summary>Options of <see cref="ResponseContentPolicy"/> (<c>ResponseContentPolicy</c> in policy files).</summary>
public sealed class ResponseContentOptions : PolicyOptions
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
    protected override ValueTask ApplyNonStreamingAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Response.UpdateChoiceMessages((choice, message) =>
        {
            if (message["content"] is not JsonValue v || !v.TryGetValue(out string? text))
            {
                return false;
            }

            var output = StreamingPatternFilter.ApplyToWhole(_patterns, Action, Replacement, text);
            if (output.Text == text && !output.Blocked)
            {
                return false;
            }

            message["content"] = output.Text;
            if (output.Blocked)
            {
                choice["finish_reason"] = "content_filter";
            }

            return true;
        });
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected internal override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is not StreamState state)
        {
            // Not GetOrCreateState with a lambda: capturing the context would cost a closure on every chunk.
            state = new StreamState(ChatChunks.RequestedChoices(context.Transaction));
            context.State = state;
        }

        // Decide from a forward-only read; build the JSON tree only when the chunk must change.
        if (chunk.IsModified || !ChoiceScanner.TryScan(chunk.Data.Span, state.Scratch, state.Shapes, out var hasChoices))
        {
            ScanTree(chunk, state.Scratch, out hasChoices);
        }

        if (!hasChoices)
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        // id, created, model and system_fingerprint are the same on every chunk of a stream: one copy serves as the
        // template for the chunks this policy writes itself (the chunk's own buffer goes back to the pool once written).
        state.Template ??= chunk.Data.ToArray();
        var decisions = state.Decisions;
        decisions.Clear();
        var changed = false;
        RefuseRepeatedIndex(state.Scratch);
        foreach (var choice in state.Scratch)
        {
            var decision = Decide(choice, state);
            decisions.Add(decision);
            changed |= decision.Kind != DecisionKind.Unchanged;
        }

        if (!changed)
        {
            context.Emit(chunk);
        }
        else if (Apply(chunk, decisions) is { } rewritten)
        {
            context.Emit(rewritten);
        }

        if (state.Blocked.Count >= state.ExpectedChoices)
        {
            context.Complete();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected internal override ValueTask CompleteStreamAsync(StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is StreamState { Template: { } templateData } state && JsonNode.Parse(templateData) is JsonObject template)
        {
            foreach (var (index, filter) in state.Filters.OrderBy(f => f.Key))
            {
                if (state.Blocked.Contains(index))
                {
                    continue;
                }

                var output = filter.Flush();
                if (output.Text.Length > 0)
                {
                    context.Emit(ChatChunks.Text(template, index, output.Text));
                }

                if (output.Blocked)
                {
                    context.Emit(ChatChunks.ContentFilter(template, index));
                }
            }
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    /// <summary>
    /// A chunk that names one choice twice is refused: each entry must be judged on its own, and a client appends both.
    /// </summary>
    private static void RefuseRepeatedIndex(List<ChoiceDelta> choices)
    {
        for (var i = 1; i < choices.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (choices[i].Index == choices[j].Index)
                {
                    throw BackendException.InvalidResponse("a streamed chunk names the same choice twice.");
                }
            }
        }
    }

    /// <summary>Runs one choice's text through its filter and says what must become of the entry.</summary>
    private Decision Decide(ChoiceDelta choice, StreamState state)
    {
        if (state.Blocked.Contains(choice.Index))
        {
            // The choice was ended by the policy: nothing more of it is shown.
            return new(DecisionKind.Remove, choice.Index, null);
        }

        if (state.Finished.Contains(choice.Index) && !string.IsNullOrEmpty(choice.Content))
        {
            // Its filter was flushed at the finish: text after it could complete a match that was let out.
            throw BackendException.InvalidResponse("a choice sent text after its finish_reason.");
        }

        var finishing = choice.FinishReason is not null;
        if (finishing)
        {
            state.Finished.Add(choice.Index);
        }

        if (choice.Content is null && !finishing)
        {
            return new(DecisionKind.Unchanged, choice.Index, null);
        }

        if (!state.Filters.TryGetValue(choice.Index, out var filter))
        {
            filter = new StreamingPatternFilter(_patterns, Action, Replacement, _maxHoldbackChars);
            state.Filters[choice.Index] = filter;
        }

        var output = choice.Content is null ? new FilterOutput(string.Empty, false) : filter.Append(choice.Content);
        var text = output.Text;
        var blocked = output.Blocked;
        if (finishing && !blocked)
        {
            // The choice ends here: nothing more can complete a match, so everything held is decided now.
            var rest = filter.Flush();
            text += rest.Text;
            blocked = rest.Blocked;
        }

        if (blocked)
        {
            state.Blocked.Add(choice.Index);
            return new(DecisionKind.Block, choice.Index, text);
        }

        if (text == (choice.Content ?? string.Empty))
        {
            return new(DecisionKind.Unchanged, choice.Index, null);
        }

        // Everything this entry carried is held back: drop the entry, keep the rest of the chunk.
        return text.Length == 0 && !choice.DeltaHasOtherFields && !finishing
            ? new(DecisionKind.Remove, choice.Index, null)
            : new(DecisionKind.SetContent, choice.Index, text);
    }

    /// <summary>Applies the decisions to the chunk's JSON; <see langword="null"/> when nothing is left to send.</summary>
    private static StreamChunk? Apply(StreamChunk chunk, List<Decision> decisions)
    {
        var json = chunk.Json!;
        var choices = (JsonArray)json["choices"]!;
        for (var i = choices.Count - 1; i >= 0; i--)
        {
            if (choices[i] is not JsonObject choice)
            {
                continue;
            }

            var index = ChatChunks.IndexOf(choice);
            var decision = decisions.Find(d => d.Index == index);
            switch (decision.Kind)
            {
                case DecisionKind.Remove:
                    choices.RemoveAt(i);
                    break;
                case DecisionKind.SetContent or DecisionKind.Block:
                    var delta = choice["delta"] as JsonObject ?? [];
                    delta["content"] = decision.Text;
                    choice["delta"] = delta;
                    if (decision.Kind == DecisionKind.Block)
                    {
                        choice["finish_reason"] = "content_filter";
                    }

                    break;
            }
        }

        if (choices.Count == 0 && json["usage"] is not JsonObject)
        {
            return null;
        }

        chunk.MarkModified();
        return chunk;
    }

    /// <summary>The tree path, for chunks the scanner gave up on (or that another policy already changed).</summary>
    private static void ScanTree(StreamChunk chunk, List<ChoiceDelta> into, out bool hasChoices)
    {
        into.Clear();
        hasChoices = chunk.Json?["choices"] is JsonArray;
        if (!hasChoices)
        {
            return;
        }

        foreach (var choice in ((JsonArray)chunk.Json!["choices"]!).OfType<JsonObject>())
        {
            var delta = choice["delta"] as JsonObject;
            var content = delta?["content"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
            var finish = choice["finish_reason"] is JsonValue f && f.TryGetValue(out string? r) ? r : null;
            into.Add(new ChoiceDelta(ChatChunks.IndexOf(choice), content, finish, delta is not null && delta.Any(p => p.Key != "content")));
        }
    }

    private enum DecisionKind
    {
        Unchanged,
        SetContent,
        Remove,
        Block,
    }

    private readonly record struct Decision(DecisionKind Kind, int Index, string? Text);

    private sealed class StreamState(int expectedChoices)
    {
        public int ExpectedChoices { get; } = expectedChoices;

        public Dictionary<int, StreamingPatternFilter> Filters { get; } = [];

        public HashSet<int> Blocked { get; } = [];

        /// <summary>Choices whose finish_reason was seen (their filters are flushed).</summary>
        public HashSet<int> Finished { get; } = [];

        /// <summary>A copy of the first chunk with choices, the model for chunks the policy writes itself.</summary>
        public byte[]? Template { get; set; }

        public List<ChoiceDelta> Scratch { get; } = [];

        public ChunkShapeCache Shapes { get; } = new();

        public List<Decision> Decisions { get; } = [];
    }
}
