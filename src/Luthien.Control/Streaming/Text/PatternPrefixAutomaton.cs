using System.Globalization;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>
/// Answers, for text that arrives piece by piece, "where does the earliest text start that could still grow into a
/// match of one of these patterns?" — so that a streaming filter holds back only that text and sends the rest at once.
/// </summary>
/// <remarks>
/// The patterns are compiled into one nondeterministic automaton (Thompson's construction) over the common regex
/// subset: literals and escapes, <c>.</c>, classes (<c>[a-z]</c>, <c>[^…]</c>, <c>\d \w \s</c> and their negations),
/// groups, alternation, <c>* + ? {n} {n,} {n,m}</c> (greedy or lazy), and anchors. The automaton may accept more than
/// the regex (anchors and word boundaries count as always satisfied), never less, so it can only make a filter hold
/// back more, never leak. An assertion on what follows (<c>$ \z \Z \b \B</c>) reached at the end of the text keeps
/// its text pending until the next character (or the end of the stream) settles it. Patterns outside the subset
/// (backreferences, lookarounds, inline options other than a leading <c>(?i)</c>, <c>\G</c>) are rejected by
/// <see cref="TryCreate"/>.
/// </remarks>
internal sealed partial class PatternPrefixAutomaton
{
    private const int MaxStates = 20_000;
    private readonly List<State> _states;
    private readonly int[] _startClosure;

    private readonly bool[] _asciiStarts = new bool[128];

    private readonly int[][] _closureOf;

    private PatternPrefixAutomaton(List<State> states, int start)
    {
        _states = states;
        _startClosure = Closure([start]);

        // Each state's epsilon closure, computed once: stepping a thread then rarely allocates.
        _closureOf = new int[states.Count][];
        for (var i = 0; i < states.Count; i++)
        {
            _closureOf[i] = Closure([i]);
        }

        for (var c = 0; c < _asciiStarts.Length; c++)
        {
            _asciiStarts[c] = CanStartWithSlow((char)c);
        }
    }

    /// <summary>Compiles patterns into one automaton.</summary>
    /// <param name="patterns">The regular expressions.</param>
    /// <param name="ignoreCase">Whether letters match in either case.</param>
    /// <param name="automaton">The automaton, when every pattern is in the supported subset.</param>
    /// <param name="error">Why a pattern is not supported.</param>
    public static bool TryCreate(IReadOnlyList<string> patterns, bool ignoreCase, out PatternPrefixAutomaton? automaton, out string? error)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var builder = new Builder();
        var start = builder.NewState();
        try
        {
            foreach (var pattern in patterns)
            {
                var localIgnoreCase = ignoreCase;
                var text = pattern;
                if (text.StartsWith("(?i)", StringComparison.Ordinal))
                {
                    localIgnoreCase = true;
                    text = text[4..];
                }

                var fragment = new Parser(text, builder, localIgnoreCase).ParseAll();
                builder.AddEpsilon(start, fragment.Start);
                builder.States[fragment.End].Accepting = true;
            }
        }
        catch (NotSupportedException ex)
        {
            automaton = null;
            error = ex.Message;
            return false;
        }

        automaton = new PatternPrefixAutomaton(builder.States, start);
        error = null;
        return true;
    }

    /// <summary>
    /// Whether some pattern can match empty text somewhere: its anchors and word boundaries count as satisfied, so
    /// <c>\b</c> or <c>x|a?\b</c> can, though neither matches the empty string itself.
    /// </summary>
    internal bool MatchesEmpty => Accepts(_startClosure);

    /// <summary>Starts tracking a text stream.</summary>
    public Tracker CreateTracker() => new(this);

    private int[] Closure(IEnumerable<int> seeds)
    {
        var seen = new HashSet<int>();
        var stack = new Stack<int>(seeds);
        while (stack.Count > 0)
        {
            var s = stack.Pop();
            if (!seen.Add(s))
            {
                continue;
            }

            foreach (var e in _states[s].Epsilon)
            {
                stack.Push(e);
            }
        }

        var result = seen.ToArray();
        Array.Sort(result);
        return result;
    }

    private int[] Step(int[] current, char c)
    {
        var single = -1;
        List<int>? many = null;
        foreach (var s in current)
        {
            var state = _states[s];
            if (state.Edge is { } edge && edge.Matches(c))
            {
                if (single < 0)
                {
                    single = state.EdgeTarget;
                }
                else
                {
                    (many ??= [single]).Add(state.EdgeTarget);
                }
            }
        }

        if (single < 0)
        {
            return [];
        }

        if (many is null)
        {
            return _closureOf[single];
        }

        var union = new SortedSet<int>();
        foreach (var target in many)
        {
            union.UnionWith(_closureOf[target]);
        }

        return [.. union];
    }

    private bool Accepts(int[] set)
    {
        foreach (var s in set)
        {
            if (_states[s].Accepting)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a match can begin with <paramref name="c"/>: a table for ASCII, the automaton otherwise.</summary>
    private bool CanStartWith(char c) => c < 128 ? _asciiStarts[c] : CanStartWithSlow(c);

    private bool CanStartWithSlow(char c)
    {
        foreach (var s in _startClosure)
        {
            if (_states[s].Edge is { } edge && edge.Matches(c))
            {
                return true;
            }
        }

        return false;
    }

    private bool CanExtend(int[] set)
    {
        foreach (var s in set)
        {
            if (_states[s].Edge is not null || _states[s].DecidedByNext)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Follows text as it is appended and knows the earliest offset from which the text seen so far is still the
    /// beginning of a possible match (one that more text could complete or lengthen).
    /// </summary>
    internal sealed class Tracker
    {
        private readonly PatternPrefixAutomaton _automaton;
        private List<(long Start, int[] States)> _threads = [];
        private List<(long Start, int[] States)> _spare = [];
        private long _length;

        internal Tracker(PatternPrefixAutomaton automaton) => _automaton = automaton;

        /// <summary>How many characters have been appended in all.</summary>
        public long Length => _length;

        /// <summary>
        /// Whether some text appended since <see cref="ClearMatchSeen"/> completed a match of the automaton. When
        /// false, no pattern can match that text, so a filter can skip running the regular expressions.
        /// </summary>
        public bool MatchSeen { get; private set; }

        /// <summary>Forgets <see cref="MatchSeen"/>, once the text it covered has been let out.</summary>
        public void ClearMatchSeen() => MatchSeen = false;

        /// <summary>
        /// The offset (counted from the first character ever appended) of the earliest text that could still become or
        /// extend a match; <see cref="Length"/> when no text is pending.
        /// </summary>
        public long PendingStart
        {
            get
            {
                var min = _length;
                foreach (var (start, states) in _threads)
                {
                    if (start < min && _automaton.CanExtend(states))
                    {
                        min = start;
                    }
                }

                return min;
            }
        }

        /// <summary>Feeds more text.</summary>
        /// <param name="text">The text.</param>
        public void Append(ReadOnlySpan<char> text)
        {
            foreach (var c in text)
            {
                // Fast path for the common case: nothing pending and no match can start with this character.
                if (_threads.Count == 0 && !_automaton.CanStartWith(c))
                {
                    _length++;
                    continue;
                }

                var next = _spare;
                next.Clear();
                _threads.Add((_length, _automaton._startClosure));
                foreach (var (start, states) in _threads)
                {
                    var stepped = _automaton.Step(states, c);
                    if (stepped.Length == 0 || IsKnown(next, stepped))
                    {
                        // Dead, or in the same states as an earlier thread, which behaves the same from here on.
                        continue;
                    }

                    MatchSeen |= _automaton.Accepts(stepped);
                    next.Add((start, stepped));
                }

                _spare = _threads;
                _threads = next;
                _length++;
            }
        }

        private static bool IsKnown(List<(long Start, int[] States)> threads, int[] states)
        {
            foreach (var thread in threads)
            {
                if (thread.States.AsSpan().SequenceEqual(states))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>Forgets everything: the next text starts a new stream of matches.</summary>
        public void Reset()
        {
            _threads.Clear();
            MatchSeen = false;
        }
    }

    private sealed class State
    {
        public List<int> Epsilon { get; } = [];

        public CharMatcher? Edge { get; set; }

        public int EdgeTarget { get; set; }

        public bool Accepting { get; set; }

        /// <summary>
        /// An assertion on the text that follows (<c>$ \z \Z \b \B</c>): a thread here at the end of the text so far
        /// is pending even without an edge, because the next character decides whether the assertion holds.
        /// </summary>
        public bool DecidedByNext { get; set; }
    }

    private readonly record struct Fragment(int Start, int End);

    private sealed class Builder
    {
        public List<State> States { get; } = [];

        public int NewState()
        {
            if (States.Count >= MaxStates)
            {
                throw new NotSupportedException($"the pattern expands to more than {MaxStates} automaton states.");
            }

            States.Add(new State());
            return States.Count - 1;
        }

        public void AddEpsilon(int from, int to) => States[from].Epsilon.Add(to);

        public Fragment Char(CharMatcher matcher)
        {
            var s = NewState();
            var e = NewState();
            States[s].Edge = matcher;
            States[s].EdgeTarget = e;
            return new(s, e);
        }

        public Fragment Empty()
        {
            var s = NewState();
            var e = NewState();
            AddEpsilon(s, e);
            return new(s, e);
        }

        /// <summary>
        /// An assertion on the text after it: always satisfied, like every anchor here, but marked so that a thread that
        /// reaches it stays pending until the next character. <c>$</c> and <c>\Z</c> also hold before a final line
        /// feed, so a thread that reaches them and then a line feed waits for the character after that.
        /// </summary>
        public Fragment LookingAhead(bool orBeforeFinalLineFeed)
        {
            var s = NewState();
            var e = NewState();
            States[s].DecidedByNext = true;
            AddEpsilon(s, e);
            if (orBeforeFinalLineFeed)
            {
                var lineFeed = Char(CharMatcher.Literal('\n', false));
                States[lineFeed.End].DecidedByNext = true;
                AddEpsilon(s, lineFeed.Start);
            }

            return new(s, e);
        }

        public Fragment Concat(Fragment a, Fragment b)
        {
            AddEpsilon(a.End, b.Start);
            return new(a.Start, b.End);
        }

        public Fragment Alternate(IReadOnlyList<Fragment> options)
        {
            var s = NewState();
            var e = NewState();
            foreach (var o in options)
            {
                AddEpsilon(s, o.Start);
                AddEpsilon(o.End, e);
            }

            return new(s, e);
        }

        public Fragment Optional(Fragment f)
        {
            var s = NewState();
            var e = NewState();
            AddEpsilon(s, f.Start);
            AddEpsilon(s, e);
            AddEpsilon(f.End, e);
            return new(s, e);
        }

        public Fragment Star(Fragment f)
        {
            var s = NewState();
            var e = NewState();
            AddEpsilon(s, f.Start);
            AddEpsilon(s, e);
            AddEpsilon(f.End, f.Start);
            AddEpsilon(f.End, e);
            return new(s, e);
        }
    }

    [GeneratedRegex(@"\{(\d+)(,(\d+)?)?\}")]
    private static partial Regex CountPattern();

    [GeneratedRegex(@"\?(P?<[A-Za-z_][A-Za-z0-9_]*>|'[A-Za-z_][A-Za-z0-9_]*')")]
    private static partial Regex NamedGroupPattern();
}
