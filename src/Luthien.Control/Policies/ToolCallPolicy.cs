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
public sealed partial class ToolCallPolicy : StreamingControlPolicy
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
}
