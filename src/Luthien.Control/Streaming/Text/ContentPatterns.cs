using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>
/// A set of regular expressions used together: one combined <see cref="Regex"/> finds matches (leftmost first), and a
/// <see cref="PatternPrefixAutomaton"/> tells how much of a growing text could still become a match.
/// </summary>
internal sealed class ContentPatterns
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Compiles the patterns.</summary>
    /// <param name="patterns">Regular expressions (.NET syntax, within <see cref="PatternPrefixAutomaton"/>'s subset).</param>
    /// <exception cref="ArgumentException">A pattern is invalid or outside the streaming subset; the message says which and why.</exception>
    public ContentPatterns(IReadOnlyList<string> patterns)
        : this(patterns, compiled: true)
    {
    }

    /// <summary>Compiles the patterns, into IL or (for tests that make a great many sets) for the interpreter.</summary>
    /// <param name="patterns">Regular expressions.</param>
    /// <param name="compiled">Whether the combined regex is compiled to IL, as a policy's is.</param>
    internal ContentPatterns(IReadOnlyList<string> patterns, bool compiled)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        if (patterns.Count == 0)
        {
            throw new ArgumentException("at least one pattern is required.", nameof(patterns));
        }

        for (var i = 0; i < patterns.Count; i++)
        {
            try
            {
                _ = new Regex(patterns[i], RegexOptions.CultureInvariant);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"patterns[{i}] is not a valid regular expression: {ex.Message}", nameof(patterns), ex);
            }

            if (!PatternPrefixAutomaton.TryCreate([patterns[i]], ignoreCase: false, out var single, out var error))
            {
                throw new ArgumentException($"patterns[{i}] cannot be checked across chunk boundaries: {error}", nameof(patterns));
            }

            // Not only the empty string: \b matches no text between two characters, and a filter cannot redact nothing.
            if (single!.MatchesEmpty)
            {
                throw new ArgumentException($"patterns[{i}] matches empty text.", nameof(patterns));
            }
        }

        Patterns = [.. patterns];
        // Compiled: faster on every chunk, and free of the interpreter's wrong answers for lazy loops over parts that can
        // match empty (dotnet/runtime#120872: a match past the end of the text), which the differential tests met.
        Combined = new Regex(string.Join('|', patterns.Select(p => $"(?:{p})")), RegexOptions.CultureInvariant | (compiled ? RegexOptions.Compiled : RegexOptions.None), MatchTimeout);
        PatternPrefixAutomaton.TryCreate(Patterns, ignoreCase: false, out var automaton, out _);
        Automaton = automaton!;
    }

    /// <summary>The patterns.</summary>
    public IReadOnlyList<string> Patterns { get; }

    /// <summary>All patterns as one regular expression.</summary>
    public Regex Combined { get; }

    /// <summary>The prefix automaton of all patterns.</summary>
    public PatternPrefixAutomaton Automaton { get; }
}
