using System.Text;

namespace Luthien.Control.Streaming.Tests.Text;

/// <summary>
/// Random regular expressions from <see cref="PatternPrefixAutomaton"/>'s documented
/// subset, texts that match them (whole, cut short or slightly changed) between random noise, and random ways of
/// cutting a text into pieces. The alphabets are small so that matches and near-matches are frequent.
/// </summary>
internal sealed class RandomPatternGenerator(Random random)
{
    /// <summary>The characters texts are mostly made of (and pattern literals mostly are).</summary>
    private const string CommonChars = "ab01-_ X";

    /// <summary>Rarer text characters: other case, escapable punctuation, line breaks, non-ASCII letters and spaces.</summary>
    private const string RareChars = "ABx.{+\n\t\u00e9\u00c9\u00a0\u212a\u00df\u1e9e";

    // No \G: TryCreate refuses it (where it holds depends on where the previous match ended).
    private static readonly string[] Anchors = ["^", "$", @"\b", @"\B", @"\A", @"\z", @"\Z"];

    private static readonly (string Text, Func<char, bool> Test)[] Shorthands =
    [
        (".", c => c != '\n'),
        (@"\d", char.IsDigit),
        (@"\D", c => !char.IsDigit(c)),
        (@"\w", IsWordChar),
        (@"\W", c => !IsWordChar(c)),
        (@"\s", char.IsWhiteSpace),
        (@"\S", c => !char.IsWhiteSpace(c)),
    ];

    /// <summary>Escaped single characters: the pattern text and the character it stands for.</summary>
    private static readonly (string Text, char Char)[] Escapes =
    [
        (@"\-", '-'), (@"\.", '.'), (@"\{", '{'), (@"\+", '+'), (@"\ ", ' '), (@"\x61", 'a'), (@"\u0062", 'b'),
        (@"\x2D", '-'), (@"\060", '0'), (@"\061", '1'), (@"\012", '\n'), (@"\t", '\t'), (@"\n", '\n'), (@"\u00e9", '\u00e9'), (@"\u00df", '\u00df'),
    ];

    private static readonly (string Text, char Low, char High)[] Ranges =
    [
        ("a-b", 'a', 'b'), ("a-z", 'a', 'z'), ("0-1", '0', '1'), ("0-9", '0', '9'), ("A-Z", 'A', 'Z'), ("X-a", 'X', 'a'),
        (" -0", ' ', '0'), (@"\x30-\x31", '0', '1'),
    ];

    private static readonly string SampleChars = CommonChars + RareChars;

    private readonly Random _random = random;

    /// <summary>A pattern: its text, and a way to write text that it matches (anchors aside).</summary>
    public sealed record Pattern(string Text, bool IgnoreCase, Node Root);

    /// <summary>Generates one pattern.</summary>
    public Pattern NextPattern()
    {
        var root = Alternation(depth: 0);
        var ignoreCase = _random.Next(6) == 0;
        var text = root.ToPattern();
        return new((ignoreCase ? "(?i)" : string.Empty) + text, ignoreCase, root);
    }

    /// <summary>Generates a text: noise, and samples of the patterns (whole, cut short or changed a little).</summary>
    public string NextText(IReadOnlyList<Pattern> patterns)
    {
        var sb = new StringBuilder();
        var parts = _random.Next(1, 5);
        for (var i = 0; i < parts && sb.Length < 40; i++)
        {
            if (_random.Next(3) == 0)
            {
                Noise(sb, _random.Next(0, 5));
                continue;
            }

            var pattern = patterns[_random.Next(patterns.Count)];
            var sample = new StringBuilder();
            pattern.Root.Sample(this, sample, pattern.IgnoreCase);
            switch (_random.Next(6))
            {
                case 0 when sample.Length > 0:
                    sample.Length = _random.Next(sample.Length); // cut short: a near-match
                    break;
                case 1 when sample.Length > 0:
                    sample[_random.Next(sample.Length)] = NoiseChar(); // one character changed
                    break;
                case 2:
                    sample.Insert(_random.Next(sample.Length + 1), NoiseChar()); // one character added
                    break;
            }

            sb.Append(sample);
        }

        if (sb.Length > 48)
        {
            sb.Length = 48;
        }

        return sb.ToString();
    }

    /// <summary>Cuts a text into pieces: whole, one character each, or at random places (empty pieces too).</summary>
    public string[] NextSplit(string text)
    {
        switch (_random.Next(8))
        {
            case 0:
                return [text];
            case 1:
                return [.. text.Select(c => c.ToString())];
            case 2:
                return [string.Empty, .. text.Select(c => c.ToString()), string.Empty];
        }

        var cuts = new List<int> { 0, text.Length };
        var count = _random.Next(1, Math.Max(2, text.Length));
        for (var i = 0; i < count; i++)
        {
            cuts.Add(_random.Next(text.Length + 1));
        }

        cuts.Sort();
        var pieces = new string[cuts.Count - 1];
        for (var i = 0; i < pieces.Length; i++)
        {
            pieces[i] = text[cuts[i]..cuts[i + 1]];
        }

        return pieces;
    }

    private void Noise(StringBuilder sb, int length)
    {
        for (var i = 0; i < length; i++)
        {
            sb.Append(NoiseChar());
        }
    }

    private char NoiseChar() => _random.Next(6) == 0 ? RareChars[_random.Next(RareChars.Length)] : CommonChars[_random.Next(CommonChars.Length)];

    private char Pick(Func<char, bool> test)
    {
        // A few tries among the sample characters; a character outside the set now and then is a near-match.
        for (var i = 0; i < 12; i++)
        {
            var c = SampleChars[_random.Next(i < 8 ? CommonChars.Length : SampleChars.Length)];
            if (test(c))
            {
                return c;
            }
        }

        return NoiseChar();
    }

    private Node Alternation(int depth)
    {
        var count = _random.Next(4) == 0 ? _random.Next(2, 4) : 1;
        var options = new List<Node>();
        for (var i = 0; i < count; i++)
        {
            options.Add(Sequence(depth));
        }

        return options.Count == 1 ? options[0] : new AlternationNode(options);
    }

    private Node Sequence(int depth)
    {
        var count = _random.Next(1, depth == 0 ? 5 : 4);
        var items = new List<Node>();
        for (var i = 0; i < count; i++)
        {
            items.Add(Quantified(depth));
        }

        return items.Count == 1 ? items[0] : new SequenceNode(items);
    }

    private Node Quantified(int depth)
    {
        var atom = Atom(depth);
        if (atom is AnchorNode || _random.Next(3) != 0)
        {
            return atom;
        }

        int min, max;
        string text;
        switch (_random.Next(6))
        {
            case 0: (min, max, text) = (0, -1, "*"); break;
            case 1: (min, max, text) = (1, -1, "+"); break;
            case 2: (min, max, text) = (0, 1, "?"); break;
            case 3: min = _random.Next(4); max = min; text = $"{{{min}}}"; break;
            case 4: min = _random.Next(3); max = -1; text = $"{{{min},}}"; break;
            default: min = _random.Next(3); max = min + _random.Next(4); text = $"{{{min},{max}}}"; break;
        }

        // Unbounded repetition only of single characters or of plain sequences of them: nested or ambiguous loops
        // such as (a|.)* make Regex backtrack exponentially and hit its 1 s timeout. The automaton is indifferent to
        // nesting; bounded repetition (below) still nests groups, alternations and loops inside loops.
        if (max < 0 && !atom.IsSimple)
        {
            max = min + _random.Next(3);
            text = $"{{{min},{max}}}";
        }

        // Lazy only when the atom cannot match empty text: .NET's interpreter finds wrong matches (even past the end of
        // the text) for lazy loops over what can match empty, such as ([^1\D]*){1,}?- on "-" (dotnet/runtime#120872).
        var lazy = !atom.CanBeEmpty && _random.Next(3) == 0;
        return new RepeatNode(atom, min, max, text + (lazy ? "?" : string.Empty));
    }

    private Node Atom(int depth)
    {
        var roll = _random.Next(100);
        if (roll < 40)
        {
            var c = CommonChars[_random.Next(CommonChars.Length)];
            return new CharNode(c.ToString(), x => x == c);
        }

        if (roll < 46)
        {
            var (text, c) = Escapes[_random.Next(Escapes.Length)];
            return new CharNode(text, x => x == c);
        }

        if (roll < 60)
        {
            var (text, test) = Shorthands[_random.Next(Shorthands.Length)];
            return new CharNode(text, test);
        }

        if (roll < 75)
        {
            return CharClass();
        }

        if (roll < 82)
        {
            return new AnchorNode(Anchors[_random.Next(Anchors.Length)]);
        }

        if (depth >= 2)
        {
            return new CharNode("a", x => x == 'a');
        }

        var open = _random.Next(4) switch
        {
            0 => "(?:",
            1 => "(?<g>",
            _ => "(",
        };
        return new GroupNode(open, Alternation(depth + 1));
    }

    private CharNode CharClass()
    {
        var negated = _random.Next(4) == 0;
        var count = _random.Next(1, 4);
        var text = new StringBuilder(negated ? "[^" : "[");
        var tests = new List<Func<char, bool>>();
        for (var i = 0; i < count; i++)
        {
            switch (_random.Next(4))
            {
                case 0:
                {
                    var (t, low, high) = Ranges[_random.Next(Ranges.Length)];
                    text.Append(t);
                    tests.Add(x => x >= low && x <= high);
                    break;
                }

                case 1:
                {
                    var (t, test) = Shorthands[1 + _random.Next(Shorthands.Length - 1)];
                    text.Append(t);
                    tests.Add(test);
                    break;
                }

                default:
                {
                    var c = SampleChars[_random.Next(SampleChars.Length)];
                    text.Append(c is '-' or ']' or '\\' or '^' or '[' ? "\\" + c : c.ToString());
                    tests.Add(x => x == c);
                    break;
                }
            }
        }

        text.Append(']');
        return new CharNode(text.ToString(), x => tests.Any(t => t(x)) != negated);
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>A piece of a generated pattern.</summary>
    internal abstract class Node
    {
        /// <summary>Whether the node is one character or a plain sequence of them (safe to repeat without bound).</summary>
        public virtual bool IsSimple => false;

        /// <summary>Whether the node can match empty text.</summary>
        public abstract bool CanBeEmpty { get; }

        public abstract string ToPattern();

        /// <summary>Writes text that the node likely matches (anchors and case aside).</summary>
        public abstract void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase);
    }

    private sealed class CharNode(string text, Func<char, bool> test) : Node
    {
        public override bool IsSimple => true;

        public override bool CanBeEmpty => false;

        public override string ToPattern() => text;

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase)
        {
            var c = generator.Pick(test);
            if (ignoreCase && generator._random.Next(3) == 0)
            {
                c = char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c);
            }

            sb.Append(c);
        }
    }

    private sealed class AnchorNode(string text) : Node
    {
        public override bool CanBeEmpty => true;

        public override string ToPattern() => text;

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase)
        {
        }
    }

    private sealed class SequenceNode(List<Node> items) : Node
    {
        public override bool IsSimple => items.All(i => i is CharNode);

        public override bool CanBeEmpty => items.All(i => i.CanBeEmpty);

        public override string ToPattern() => string.Concat(items.Select(i => i.ToPattern()));

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase)
        {
            foreach (var item in items)
            {
                item.Sample(generator, sb, ignoreCase);
            }
        }
    }

    private sealed class AlternationNode(List<Node> options) : Node
    {
        public override bool CanBeEmpty => options.Any(o => o.CanBeEmpty);

        public override string ToPattern() => string.Join('|', options.Select(o => o.ToPattern()));

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase) =>
            options[generator._random.Next(options.Count)].Sample(generator, sb, ignoreCase);
    }

    private sealed class GroupNode(string open, Node inner) : Node
    {
        public override bool IsSimple => inner.IsSimple;

        public override bool CanBeEmpty => inner.CanBeEmpty;

        public override string ToPattern() => open + inner.ToPattern() + ")";

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase) =>
            inner.Sample(generator, sb, ignoreCase);
    }

    private sealed class RepeatNode(Node atom, int min, int max, string quantifier) : Node
    {
        public override bool CanBeEmpty => min == 0 || atom.CanBeEmpty;

        public override string ToPattern() => atom.ToPattern() + quantifier;

        public override void Sample(RandomPatternGenerator generator, StringBuilder sb, bool ignoreCase)
        {
            var count = min + generator._random.Next((max < 0 ? 4 : max - min) + 1);
            for (var i = 0; i < count; i++)
            {
                atom.Sample(generator, sb, ignoreCase);
            }
        }
    }
}
