namespace Luthien.Control.Streaming;

/// <summary>
/// Rules over the arguments of one tool's calls, for <see cref="ToolCallPolicy"/> (policy file:
/// <c>"argument_rules": {"run_sql": {"allow": [...], "block": [...]}, "*": {"block": [...]}}</c>). A call is allowed
/// when, if <see cref="Allow"/> is not empty, one of its patterns matches the arguments, and no pattern of
/// <see cref="Block"/> matches them.
/// </summary>
/// <remarks>
/// Patterns are .NET regular expressions. What they are matched against undoes JSON's escapes, so that
/// <c>"\u0064rop table"</c> is <c>drop table</c> to a rule as it is to the tool:
/// <list type="bullet">
/// <item>Arguments that are JSON are written again compactly — no whitespace between tokens, each string with only
/// <c>"</c>, <c>\</c> and control characters escaped (<c>{"query":"SELECT 1"}</c>). <see cref="Allow"/> patterns are
/// matched against that text (anchor them, e.g. <c>^\{"query":"SELECT </c>); <see cref="Block"/> patterns against it, against
/// each string (property names and values) decoded, and against the arguments as they came.</item>
/// <item>Arguments that are not JSON (a custom tool's free-form input, or a function's broken arguments) are matched as
/// they came and with JSON-style escapes undone; both must pass.</item>
/// <item>JSON whose meaning a tool could read two ways — a property named twice in one object, a string with a lone
/// surrogate escape — is not allowed.</item>
/// </list>
/// </remarks>
public sealed class ToolArgumentRules
{
    /// <summary>Creates the rules.</summary>
    /// <param name="allow">Patterns of which one must match the arguments; none for no such condition.</param>
    /// <param name="block">Patterns none of which may match the arguments.</param>
    /// <exception cref="ArgumentException">Neither list has a pattern.</exception>
    public ToolArgumentRules(IEnumerable<string>? allow = null, IEnumerable<string>? block = null)
    {
        Allow = [.. allow ?? []];
        Block = [.. block ?? []];
        if (Allow.Count == 0 && Block.Count == 0)
        {
            throw new ArgumentException("an argument rule needs 'allow' or 'block' patterns.", nameof(allow));
        }
    }

    /// <summary>Patterns of which one must match the arguments (none: no such condition).</summary>
    public IReadOnlyList<string> Allow { get; }

    /// <summary>Patterns none of which may match the arguments.</summary>
    public IReadOnlyList<string> Block { get; }
}
