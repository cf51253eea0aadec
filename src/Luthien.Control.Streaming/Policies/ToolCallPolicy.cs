using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="ToolCallPolicy"/> (<c>ToolCallPolicy</c> in policy files).</summary>
internal sealed class ToolCallOptions : PolicyOptions
{
    /// <summary>The only tools the model may call; <see langword="null"/> for no allow-list.</summary>
    public IList<string>? AllowedTools { get; set; }

    /// <summary>Tools the model may not call.</summary>
    public IList<string>? BlockedTools { get; set; }

    /// <summary>Rules over the arguments, per tool name (<c>*</c>: every tool).</summary>
    public IDictionary<string, ToolArgumentRuleOptions>? ArgumentRules { get; set; }
}

/// <summary>One tool's entry in <c>argument_rules</c>.</summary>
internal sealed class ToolArgumentRuleOptions
{
    /// <summary>Patterns of which one must match.</summary>
    public IList<string>? Allow { get; set; }

    /// <summary>Patterns none of which may match.</summary>
    public IList<string>? Block { get; set; }
}

/// <summary>
/// Lets the model call only allowed tools, with allowed arguments. A call that is not allowed is never shown to the
/// client, not even its first fragment, and its slot ends with <c>finish_reason: "content_filter"</c> (calls after it go
/// too; allowed calls and text before it stay). Calls are judged on the API-neutral <see cref="StreamChunk.Output"/>, in
/// streamed and buffered answers alike; legacy <c>function_call</c>s and custom tools are judged the same way.
/// </summary>
/// <remarks>
/// <para>
/// By name (<c>allowed_tools</c>, <c>blocked_tools</c>): in a stream each call's name is reassembled per slot and call,
/// and a call is judged once its name is settled (its next fragment, another call, or the end of the slot arrives), its
/// chunks held until then; allowed calls then pass fragment for fragment as the backend sent them.
/// </para>
/// <para>
/// By arguments (<c>argument_rules</c>, see <see cref="ToolArgumentRules"/>): a call to a tool with rules — its own, or
/// those under <c>*</c>, which apply to every tool; both must pass — is judged on its complete arguments before any
/// fragment of it is shown. Its chunks (and everything after them in the stream) are held until the arguments are
/// complete: another call of the slot starts, the slot ends, or the stream ends. Holding is bounded by
/// <see cref="StreamingControlPolicy.MaxHeldChunks"/> and <see cref="StreamingControlPolicy.MaxHeldBytes"/> (in a host,
/// <c>Luthien:Limits:MaxHeldChunks</c> and <c>MaxPendingBytes</c>): a call whose arguments would outgrow them is not
/// allowed (fail closed). A pattern that takes longer than the match timeout (one second for all matches of a call)
/// counts as not allowed too; patterns run on .NET's non-backtracking engine where they can.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var policy = new ToolCallPolicy(
///     allowedTools: ["get_weather", "run_sql"],
///     argumentRules: new Dictionary&lt;string, ToolArgumentRules&gt;
///     {
///         ["run_sql"] = new(allow: [@"^\{""query"":""SELECT "], block: [@"(?i)drop\s+table"]),
///         ["*"] = new(block: ["rm -rf"]),
///     });
/// </code>
/// </example>
public sealed class ToolCallPolicy : StreamingControlPolicy
{
    /// <summary>The key of <c>argument_rules</c> whose rules apply to every tool.</summary>
    public const string AnyTool = "*";

    private static readonly TimeSpan DefaultMatchTimeout = TimeSpan.FromSeconds(1);

    private readonly HashSet<string>? _allowed;
    private readonly HashSet<string> _blocked;
    private readonly Dictionary<string, CompiledRules> _rules = new(StringComparer.Ordinal);
    private readonly CompiledRules? _anyTool;
    private readonly TimeSpan _matchTimeout;

    /// <summary>Creates the policy.</summary>
    /// <param name="allowedTools">The only tools allowed, or <see langword="null"/>.</param>
    /// <param name="blockedTools">Tools never allowed, or <see langword="null"/>.</param>
    /// <param name="argumentRules">
    /// Rules over the arguments per tool name (<see cref="AnyTool"/> for every tool), or <see langword="null"/>.
    /// </param>
    /// <exception cref="ArgumentException">No list and no rules are given, or a pattern is not a valid regular expression.</exception>
    public ToolCallPolicy(IEnumerable<string>? allowedTools, IEnumerable<string>? blockedTools = null, IReadOnlyDictionary<string, ToolArgumentRules>? argumentRules = null)
        : this(allowedTools, blockedTools, argumentRules, DefaultMatchTimeout)
    {
    }

    /// <summary>Creates the policy with another match timeout (tests).</summary>
    internal ToolCallPolicy(IEnumerable<string>? allowedTools, IEnumerable<string>? blockedTools, IReadOnlyDictionary<string, ToolArgumentRules>? argumentRules, TimeSpan matchTimeout)
    {
        if (allowedTools is null && blockedTools is null && argumentRules is not { Count: > 0 })
        {
            throw new ArgumentException("one of 'allowed_tools', 'blocked_tools' or 'argument_rules' is required.", nameof(allowedTools));
        }

        _allowed = allowedTools is null ? null : new HashSet<string>(allowedTools, StringComparer.Ordinal);
        _blocked = new HashSet<string>(blockedTools ?? [], StringComparer.Ordinal);
        _matchTimeout = matchTimeout;
        foreach (var (tool, rules) in argumentRules ?? new Dictionary<string, ToolArgumentRules>())
        {
            ArgumentNullException.ThrowIfNull(rules);
            var compiled = new CompiledRules(
                rules.Allow.Select((p, i) => Compile(p, $"argument_rules['{tool}'].allow[{i}]", matchTimeout)).ToArray(),
                rules.Block.Select((p, i) => Compile(p, $"argument_rules['{tool}'].block[{i}]", matchTimeout)).ToArray());
            if (tool == AnyTool)
            {
                _anyTool = compiled;
            }
            else
            {
                _rules[tool] = compiled;
            }
        }
    }

    /// <summary>Whether a tool may be called at all, by its name (its arguments may still be judged: <see cref="HasArgumentRules"/>).</summary>
    /// <param name="name">The tool's name.</param>
    public bool IsAllowed(string name) => (_allowed is null || _allowed.Contains(name)) && !_blocked.Contains(name);

    /// <summary>Whether calls of a tool are judged on their arguments (its own rules, or rules for every tool).</summary>
    /// <param name="name">The tool's name.</param>
    public bool HasArgumentRules(string name) => _anyTool is not null || _rules.ContainsKey(name);

    /// <summary>
    /// Whether a call of a tool with these complete arguments is allowed by the argument rules (true when the tool has
    /// none). A pattern that times out counts as not allowed.
    /// </summary>
    /// <param name="name">The tool's name.</param>
    /// <param name="arguments">The call's complete arguments, as the client would receive them.</param>
    public bool AreArgumentsAllowed(string name, string arguments)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(arguments);
        var own = _rules.GetValueOrDefault(name);
        if (own is null && _anyTool is null)
        {
            return true;
        }

        if (ToolArgumentViews.Read(arguments) is not { } views)
        {
            return false;
        }

        // One budget for all matches of the call: many strings each just inside the timeout must not add up.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            return (own is null || Passes(own, views, started)) && (_anyTool is null || Passes(_anyTool, views, started));
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(context);
        var state = context.GetOrCreateState(() => new StreamState());

        // Cheap pre-checks on a stream's raw bytes, before any event is read, by the answer's adapter (which knows what its
        // API's calls look like). A chunk that can carry no call while nothing is held passes untouched, unparsed; so do
        // more argument fragments of calls already judged allowed by name alone (a call judged on its arguments, or one
        // whose name may go on, is read: both are refused below).
        if (!context.IsBuffered && !chunk.IsModified && state.Pending.Count == 0 && state.BlockedAt.Count == 0 && chunk.Format is { } format)
        {
            var data = chunk.Data.Span;
            if (!format.MayCarryToolCalls(data) || (format.TryListNamelessToolFragments(data, state.Scratch) && AllAllowedByName(state)))
            {
                context.Emit(chunk);
                return ValueTask.CompletedTask;
            }
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
                CompleteSlot(item.Slot, exceptCall: null, state);
            }
        }

        if (!context.IsBuffered && state.Pending.Count > 0 && !context.CanHold(chunk))
        {
            // Past the hold limits: a call still waiting for its whole arguments cannot be judged on them, so it is not
            // allowed (fail closed). A call whose name is not settled yet is not decided here: holding it fails the stream.
            foreach (var (key, call) in state.Pending.ToList())
            {
                if (call.NameSettled)
                {
                    state.Pending.Remove(key);
                    MarkBlocked(key, state);
                }
            }
        }

        Release(context, state, chunk);
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
                Complete(key, state);
            }

            Release(context, state, current: null);
        }

        return base.CompleteStreamAsync(context, cancellationToken);
    }

    private static Regex Compile(string pattern, string field, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        const RegexOptions options = RegexOptions.CultureInvariant;
        try
        {
            // Linear time whatever the input, where the pattern allows it; otherwise backtracking, bounded by the timeout.
            return new Regex(pattern, options | RegexOptions.NonBacktracking, timeout);
        }
        catch (NotSupportedException)
        {
            return CompileBacktracking(pattern, field, options, timeout);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{field} is not a valid regular expression: {ex.Message}", ex);
        }
    }

    private static Regex CompileBacktracking(string pattern, string field, RegexOptions options, TimeSpan timeout)
    {
        try
        {
            return new Regex(pattern, options, timeout);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{field} is not a valid regular expression: {ex.Message}", ex);
        }
    }

    /// <summary>Whether the arguments pass one tool's rules (allow: one pattern matches each whole form; block: none matches any text).</summary>
    private bool Passes(CompiledRules rules, ToolArgumentViews views, long started)
    {
        if (rules.Allow.Length > 0)
        {
            foreach (var whole in views.Whole)
            {
                if (!AnyMatches(rules.Allow, whole, started))
                {
                    return false;
                }
            }
        }

        foreach (var text in views.All)
        {
            if (AnyMatches(rules.Block, text, started))
            {
                return false;
            }
        }

        return true;
    }

    private bool AnyMatches(Regex[] patterns, string text, long started)
    {
        foreach (var pattern in patterns)
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > _matchTimeout)
            {
                throw new RegexMatchTimeoutException(text, pattern.ToString(), _matchTimeout);
            }

            if (pattern.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Follows one fragment of a call: its name or arguments grow, or it settles (and so the call is judged).</summary>
    private void Track(OutputEvent item, IReadOnlyList<OutputEvent> output, StreamState state)
    {
        var key = (item.Slot, item.ToolIndex);

        // Another call of the slot has begun: the calls before it are whole, names and arguments.
        CompleteSlot(item.Slot, exceptCall: item.ToolIndex, state);
        var namePiece = item.Kind == OutputKind.ToolCall ? item.ToolName ?? string.Empty : string.Empty;
        var arguments = item.Kind == OutputKind.ToolArguments ? item.Text : string.Empty;
        if (state.Pending.TryGetValue(key, out var call))
        {
            call.Arguments.Append(arguments);
            if (call.NameSettled)
            {
                if (namePiece.Length > 0)
                {
                    // More of a name after it was judged: a client would show (and run) the new name.
                    throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
                }
            }
            else if (namePiece.Length > 0)
            {
                call.Name.Append(namePiece);
            }
            else if (!CarriesName(output, key))
            {
                // A later fragment without a piece of the name: the name is complete.
                SettleName(key, call, state);
            }
        }
        else if (!state.Allowed.Contains(key))
        {
            var pending = new PendingCall(namePiece);
            pending.Arguments.Append(arguments);
            state.Pending[key] = pending;
        }
        else if (namePiece.Length > 0)
        {
            throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
        }
        else if (arguments.Length > 0 && state.JudgedOnArguments.Contains(key))
        {
            // Arguments after they were judged whole could change what the tool is asked to do.
            throw BackendException.InvalidResponse("a tool call's arguments went on after the call was judged.");
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

    /// <summary>Completes every pending call of a slot (but one): their names and arguments are whole.</summary>
    private void CompleteSlot(int slot, int? exceptCall, StreamState state)
    {
        if (state.Pending.Count == 0)
        {
            return;
        }

        foreach (var key in state.Pending.Keys.ToList())
        {
            if (key.Slot == slot && key.Call != exceptCall)
            {
                Complete(key, state);
            }
        }
    }

    /// <summary>A call's name is settled: judged by name; a call of a tool with argument rules waits on for its arguments.</summary>
    private void SettleName((int Slot, int Call) key, PendingCall call, StreamState state)
    {
        var name = call.Name.ToString();
        if (!IsAllowed(name))
        {
            state.Pending.Remove(key);
            MarkBlocked(key, state);
        }
        else if (!HasArgumentRules(name))
        {
            state.Pending.Remove(key);
            state.Allowed.Add(key);
        }
        else
        {
            call.NameSettled = true;
        }
    }

    /// <summary>A pending call is whole: judged by name and, if its tool has rules, by its arguments.</summary>
    private void Complete((int Slot, int Call) key, StreamState state)
    {
        if (!state.Pending.TryGetValue(key, out var call))
        {
            return;
        }

        if (!call.NameSettled)
        {
            SettleName(key, call, state);
            if (!call.NameSettled)
            {
                return;
            }
        }

        state.Pending.Remove(key);
        if (AreArgumentsAllowed(call.Name.ToString(), call.Arguments.ToString()))
        {
            state.Allowed.Add(key);
            state.JudgedOnArguments.Add(key);
        }
        else
        {
            MarkBlocked(key, state);
        }
    }

    /// <summary>Whether every call in the scanned chunk was judged allowed by name alone (a loop: a method group would allocate).</summary>
    private static bool AllAllowedByName(StreamState state)
    {
        foreach (var call in state.Scratch)
        {
            if (!state.Allowed.Contains(call) || state.JudgedOnArguments.Contains(call))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Records a call that is not allowed: its slot ends at the first such call.</summary>
    private static void MarkBlocked((int Slot, int Call) key, StreamState state)
    {
        if (!state.BlockedAt.ContainsKey(key.Slot) && (!state.NewlyBlocked.TryGetValue(key.Slot, out var first) || key.Call < first))
        {
            state.NewlyBlocked[key.Slot] = key.Call;
        }
    }

    /// <summary>
    /// Holds the chunk at hand, ends newly blocked slots (what is held of them from the blocked call on goes, and the slot
    /// ends with <c>content_filter</c>), then lets out the held chunks if no call is undecided.
    /// </summary>
    private static void Release(StreamingContext context, StreamState state, StreamChunk? current)
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
            if (current is not null)
            {
                context.Hold(current);
            }

            return;
        }

        var held = context.DiscardHeld();
        if (current is not null)
        {
            held = [.. held, current];
        }

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
            // An end another policy added stays (ours are added after this); text or arguments it added are judged as the
            // backend's are: arguments it let out of a blocked call must not be shown either.
            if ((item.IsAdded && item.Kind == OutputKind.Finish) || !state.BlockedAt.TryGetValue(item.Slot, out var blockedAt))
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

    /// <summary>A tool's compiled argument rules.</summary>
    private sealed record CompiledRules(Regex[] Allow, Regex[] Block);

    /// <summary>A call not decided yet: its name so far and its arguments so far.</summary>
    private sealed class PendingCall(string name)
    {
        public StringBuilder Name { get; } = new(name);

        public StringBuilder Arguments { get; } = new();

        /// <summary>The name is whole and allowed, and the tool has argument rules: the call waits for its arguments.</summary>
        public bool NameSettled { get; set; }
    }

    private sealed class StreamState
    {
        public Dictionary<(int Slot, int Call), PendingCall> Pending { get; } = [];

        public HashSet<(int Slot, int Call)> Allowed { get; } = [];

        /// <summary>Allowed calls judged on their whole arguments: no more arguments may follow.</summary>
        public HashSet<(int Slot, int Call)> JudgedOnArguments { get; } = [];

        /// <summary>Blocked slots, with the first call not allowed.</summary>
        public Dictionary<int, int> BlockedAt { get; } = [];

        public Dictionary<int, int> NewlyBlocked { get; } = [];

        /// <summary>Blocked slots whose content_filter end was sent.</summary>
        public HashSet<int> Ended { get; } = [];

        public List<(int Slot, int Call)> Scratch { get; } = [];
    }
}
