using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.Loading;
using Luthien.Control.Streaming.Text;

namespace Luthien.Control.Streaming.Policies;

/// <summary>Options of <see cref="ToolCallPolicy"/> (<c>ToolCallPolicy</c> in policy files).</summary>
public sealed class ToolCallOptions : PolicyOptions
{
    /// <summary>The only tools the model may call; <see langword="null"/> for no allow-list.</summary>
    public IList<string>? AllowedTools { get; set; }

    /// <summary>Tools the model may not call.</summary>
    public IList<string>? BlockedTools { get; set; }
}

/// <summary>
/// Lets the model call only allowed tools. A call that is not allowed is never shown to the client, not even its first
/// fragment, and its choice ends with <c>finish_reason: "content_filter"</c>; allowed calls pass fragment for fragment
/// as the backend sent them. In a stream, each call's fragments are reassembled per index, and a call is judged once its
/// name is settled (its next fragment, another call, or the end of the choice arrives). Legacy <c>function_call</c>
/// deltas are judged the same way.
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
    protected override ValueTask ApplyNonStreamingAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        transaction.Response.UpdateChoiceMessages((choice, message) =>
        {
            var blocked = false;
            if (message["tool_calls"] is { } anyCalls && anyCalls is not JsonArray)
            {
                throw BackendException.InvalidResponse("a message's tool_calls is not an array.");
            }

            if (message["tool_calls"] is JsonArray calls)
            {
                var firstBlocked = -1;
                for (var i = 0; i < calls.Count && firstBlocked < 0; i++)
                {
                    var call = calls[i] as JsonObject ?? throw BackendException.InvalidResponse("a tool call is not an object.");
                    if (!IsAllowed(NameOf(call["function"]) ?? string.Empty))
                    {
                        firstBlocked = i;
                    }
                }

                if (firstBlocked >= 0)
                {
                    // The blocked call and every call after it go, as in a stream, where the choice ends at the blocked call.
                    while (calls.Count > firstBlocked)
                    {
                        calls.RemoveAt(calls.Count - 1);
                    }

                    if (calls.Count == 0)
                    {
                        message.Remove("tool_calls");
                    }

                    blocked = true;
                }
            }

            if (message["function_call"] is JsonObject functionCall && !IsAllowed(NameOf(functionCall) ?? string.Empty))
            {
                message.Remove("function_call");
                blocked = true;
            }

            if (blocked)
            {
                choice["finish_reason"] = "content_filter";
            }

            return blocked;
        });
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected internal override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        var state = context.GetOrCreateState(() => new StreamState());

        // Cheap pre-check: a chunk that mentions no call and nothing is held passes untouched, unparsed. A chunk with a
        // \u escape is read: "tool\u005fcalls" is tool_calls to a client, and invisible to a byte search.
        var data = chunk.IsModified ? default : chunk.Data.Span;
        var mentionsCall = chunk.IsModified || data.IndexOf("\"tool_calls\""u8) >= 0 || data.IndexOf("\"function_call\""u8) >= 0 ||
            data.IndexOf("\\u"u8) >= 0;
        if (!mentionsCall && state.Pending.Count == 0 && state.Blocked.Count == 0)
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        // Fast path: more fragments of calls already judged allowed, nothing held or blocked: pass them unparsed. Not a
        // fragment that may carry a name (a call renamed after it was judged is refused on the tree path below).
        if (!chunk.IsModified && state.Pending.Count == 0 && state.Blocked.Count == 0 &&
            data.IndexOf("\"name\""u8) < 0 && data.IndexOf("\\u"u8) < 0 &&
            ChoiceScanner.TryScanToolCalls(chunk.Data.Span, state.Scratch, state.Shapes) && AllAllowed(state))
        {
            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }

        if (chunk.Json is not { } json || json["choices"] is not JsonArray choices)
        {
            Forward(chunk, context, state);
            return ValueTask.CompletedTask;
        }

        state.Template = json;
        foreach (var choice in choices.OfType<JsonObject>())
        {
            var index = ChatChunks.IndexOf(choice);
            if (state.Blocked.Contains(index))
            {
                continue;
            }

            foreach (var (call, name, hasName) in Fragments(choice))
            {
                var key = (index, call);
                var settledByOther = state.Pending.Keys.Where(k => k.Choice == index && k.Call != call).ToList();
                foreach (var other in settledByOther)
                {
                    Judge(other, state);
                }

                if (state.Pending.TryGetValue(key, out var builder))
                {
                    if (!hasName)
                    {
                        Judge(key, state); // a later fragment without a name piece: the name is complete
                    }
                    else
                    {
                        builder.Append(name);
                    }
                }
                else if (!state.Allowed.Contains(key))
                {
                    state.Pending[key] = new StringBuilder(name);
                }
                else if (hasName)
                {
                    // More of a name after the call was judged allowed: a client would show (and run) the new name.
                    throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
                }
            }

            if (choice["finish_reason"] is JsonValue finish && finish.TryGetValue(out string? _))
            {
                foreach (var key in state.Pending.Keys.Where(k => k.Choice == index).ToList())
                {
                    Judge(key, state);
                }
            }
        }

        Forward(chunk, context, state);
        if (state.Blocked.Count >= ChatChunks.RequestedChoices(context.Transaction))
        {
            context.Complete();
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected internal override ValueTask CompleteStreamAsync(StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.State is StreamState state)
        {
            foreach (var key in state.Pending.Keys.ToList())
            {
                Judge(key, state);
            }

            Flush(context, state);
        }

        return base.CompleteStreamAsync(context, cancellationToken);
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
    private void Judge((int Choice, int Call) key, StreamState state)
    {
        if (!state.Pending.Remove(key, out var name))
        {
            return;
        }

        if (IsAllowed(name.ToString()))
        {
            state.Allowed.Add(key);
        }
        else
        {
            state.NewlyBlocked.Add(key.Choice);
        }
    }

    /// <summary>Holds the chunk while any call is undecided; otherwise lets out what is decided.</summary>
    private static void Forward(StreamChunk chunk, StreamingContext context, StreamState state)
    {
        context.Hold(chunk);
        if (state.Pending.Count == 0)
        {
            Flush(context, state);
        }
        else if (state.NewlyBlocked.Count > 0)
        {
            // A blocked choice ends at once, even while another choice still has a call undecided.
            EndBlockedChoices(context, state);
        }
    }

    /// <summary>Lets out every held chunk, without the entries of blocked choices.</summary>
    private static void Flush(StreamingContext context, StreamState state)
    {
        EndBlockedChoices(context, state);
        foreach (var held in context.DiscardHeld())
        {
            if (ChatChunks.WithoutChoices(held, state.Blocked) is { } kept)
            {
                context.Emit(kept);
            }
        }
    }

    /// <summary>Marks newly blocked choices, drops their held entries and emits their <c>content_filter</c> end.</summary>
    private static void EndBlockedChoices(StreamingContext context, StreamState state)
    {
        if (state.NewlyBlocked.Count == 0)
        {
            return;
        }

        var newly = state.NewlyBlocked.Order().ToList();
        state.NewlyBlocked.Clear();
        foreach (var index in newly)
        {
            state.Blocked.Add(index);
            foreach (var key in state.Pending.Keys.Where(k => k.Choice == index).ToList())
            {
                state.Pending.Remove(key);
            }
        }

        // Held chunks of the blocked choices may hold allowed fragments of other choices: keep those, in order.
        var newlySet = newly.ToHashSet();
        foreach (var chunk in context.DiscardHeld())
        {
            if (ChatChunks.WithoutChoices(chunk, newlySet) is { } kept)
            {
                context.Hold(kept);
            }
        }

        foreach (var index in newly)
        {
            context.Emit(ChatChunks.ContentFilter(state.Template!, index));
        }

        if (state.Pending.Count == 0)
        {
            foreach (var chunk in context.DiscardHeld())
            {
                context.Emit(chunk);
            }
        }
    }

    /// <summary>The tool-call fragments of a choice entry: (call index, name piece, whether a name piece is present).</summary>
    private static IEnumerable<(int Call, string Name, bool HasName)> Fragments(JsonObject choice)
    {
        if (choice["delta"] is not JsonObject delta)
        {
            yield break;
        }

        if (delta["tool_calls"] is JsonArray calls)
        {
            foreach (var call in calls.OfType<JsonObject>())
            {
                var index = ChatChunks.IntegerIndex(call, "a tool call");
                var name = NameOf(call["function"]);
                yield return (index, name ?? string.Empty, !string.IsNullOrEmpty(name));
            }
        }

        if (delta["function_call"] is JsonObject functionCall)
        {
            var name = NameOf(functionCall);
            yield return (-1, name ?? string.Empty, !string.IsNullOrEmpty(name));
        }
    }

    /// <summary>
    /// The <c>name</c> of a function (null when absent); a function or name of another kind cannot be judged, and is
    /// refused rather than passed on.
    /// </summary>
    private static string? NameOf(JsonNode? function)
    {
        if (function is null)
        {
            return null;
        }

        if (function is not JsonObject o)
        {
            throw BackendException.InvalidResponse("a tool call's function is not an object.");
        }

        return o["name"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue(out string? name) => name,
            _ => throw BackendException.InvalidResponse("a tool call's name is not a string."),
        };
    }

    private sealed class StreamState
    {
        public Dictionary<(int Choice, int Call), StringBuilder> Pending { get; } = [];

        public HashSet<(int Choice, int Call)> Allowed { get; } = [];

        public HashSet<int> Blocked { get; } = [];

        public HashSet<int> NewlyBlocked { get; } = [];

        public List<(int Choice, int Call)> Scratch { get; } = [];

        public ChunkShapeCache Shapes { get; } = new();

        public JsonObject? Template { get; set; }
    }
}
