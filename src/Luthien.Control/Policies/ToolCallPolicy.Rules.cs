using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

// ToolCallPolicy: argument rules compiled and judged, within one time budget per call.
public sealed partial class ToolCallPolicy
{
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

    /// <summary>A tool's compiled argument rules.</summary>
    private sealed record CompiledRules(Regex[] Allow, Regex[] Block);
}
