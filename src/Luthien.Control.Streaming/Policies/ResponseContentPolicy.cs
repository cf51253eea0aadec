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
        if (transaction.Response.Payload is not JsonObject { } payload || payload["choices"] is not JsonArray choices)
        {
            return ValueTask.CompletedTask;
        }

        var changed = false;
        foreach (var choice in choices)
        {
            if (choice?["message"] is not JsonObject message || message["content"] is not JsonValue v || !v.TryGetValue(out string? text))
            {
                continue;
            }

            var output = StreamingPatternFilter.ApplyToWhole(_patterns, Action, Replacement, text);
            if (output.Text != text || output.Blocked)
            {
                message["content"] = output.Text;
                if (output.Blocked)
                {
                    choice["finish_reason"] = "content_filter";
                }

                changed = true;
            }
        }

        if (changed)
        {
            transaction.Response.Payload = payload;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected internal override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        var state = context.GetOrCreateState(() => new StreamState(ChatChunks.RequestedChoices(context.Transaction)));
        if (chunk.Json is not { } json || json["choices"] is not JsonArray choices)
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        state.Template = json;
        var changed = false;
        for (var i = choices.Count - 1; i >= 0; i--)
        {
            if (choices[i] is not JsonObject choice)
            {
                continue;
            }

            var index = ChatChunks.IndexOf(choice);
            if (state.Blocked.Contains(index))
            {
                // The choice was ended by the policy: nothing more of it is shown.
                choices.RemoveAt(i);
                changed = true;
                continue;
            }

            changed |= FilterChoice(choice, index, state, choices, i);
        }

        if (!changed)
        {
            context.Emit(chunk);
        }
        else if (choices.Count > 0 || json["usage"] is JsonObject)
        {
            chunk.MarkModified();
            context.Emit(chunk);
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
        if (context.State is StreamState { Template: { } template } state)
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

    /// <summary>Filters one choice entry in place; returns whether it changed.</summary>
    private bool FilterChoice(JsonObject choice, int index, StreamState state, JsonArray choices, int position)
    {
        var delta = choice["delta"] as JsonObject;
        var original = delta?["content"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        var finishing = choice["finish_reason"] is JsonValue f && f.TryGetValue(out string? _);
        if (original is null && !finishing)
        {
            return false;
        }

        if (!state.Filters.TryGetValue(index, out var filter))
        {
            filter = new StreamingPatternFilter(_patterns, Action, Replacement, _maxHoldbackChars);
            state.Filters[index] = filter;
        }

        var output = original is null ? new FilterOutput(string.Empty, false) : filter.Append(original);
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
            state.Blocked.Add(index);
            delta ??= [];
            delta["content"] = text;
            choice["delta"] = delta;
            choice["finish_reason"] = "content_filter";
            return true;
        }

        if (text == (original ?? string.Empty))
        {
            return false;
        }

        if (text.Length == 0 && delta!.Count == 1 && !finishing)
        {
            // Everything this entry carried is held back: drop the entry, keep the rest of the chunk.
            choices.RemoveAt(position);
            return true;
        }

        delta ??= [];
        delta["content"] = text;
        choice["delta"] = delta;
        return true;
    }

    private sealed class StreamState(int expectedChoices)
    {
        public int ExpectedChoices { get; } = expectedChoices;

        public Dictionary<int, StreamingPatternFilter> Filters { get; } = [];

        public HashSet<int> Blocked { get; } = [];

        public JsonObject? Template { get; set; }
    }
}
