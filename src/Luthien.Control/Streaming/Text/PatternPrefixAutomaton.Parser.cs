using System.Globalization;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <content>The pattern parser: the supported regex subset, read into automaton fragments.</content>
internal sealed partial class PatternPrefixAutomaton
{
    /// <summary>A recursive-descent parser that builds automaton fragments directly.</summary>
    private sealed class Parser(string pattern, Builder builder, bool ignoreCase)
    {
        private int _pos;

        public Fragment ParseAll()
        {
            var f = ParseAlternation();
            if (_pos < pattern.Length)
            {
                throw new NotSupportedException($"unexpected '{pattern[_pos]}' at position {_pos}.");
            }

            return f;
        }

        private Fragment ParseAlternation()
        {
            var options = new List<Fragment> { ParseSequence() };
            while (_pos < pattern.Length && pattern[_pos] == '|')
            {
                _pos++;
                options.Add(ParseSequence());
            }

            return options.Count == 1 ? options[0] : builder.Alternate(options);
        }

        private Fragment ParseSequence()
        {
            Fragment? result = null;
            while (_pos < pattern.Length && pattern[_pos] != '|' && pattern[_pos] != ')')
            {
                var atom = ParseQuantified();
                result = result is null ? atom : builder.Concat(result.Value, atom);
            }

            return result ?? builder.Empty();
        }

        private Fragment ParseQuantified()
        {
            var atomStart = _pos;
            var atom = ParseAtom();
            var atomEnd = _pos;
            while (_pos < pattern.Length)
            {
                int min, max;
                switch (pattern[_pos])
                {
                    case '*': min = 0; max = -1; _pos++; break;
                    case '+': min = 1; max = -1; _pos++; break;
                    case '?': min = 0; max = 1; _pos++; break;
                    case '{' when TryParseCount(out min, out max): break;
                    default: return atom;
                }

                if (_pos < pattern.Length && pattern[_pos] == '?')
                {
                    _pos++; // lazy: the same language
                }
                else if (_pos < pattern.Length && pattern[_pos] == '+')
                {
                    throw new NotSupportedException("possessive quantifiers are not supported.");
                }

                atom = Repeat(atom, min, max, atomStart, atomEnd);
            }

            return atom;
        }

        /// <summary>Repeats an atom; each copy is a fresh fragment, parsed again from the atom's source.</summary>
        private Fragment Repeat(Fragment first, int min, int max, int atomStart, int atomEnd)
        {
            Fragment Copy()
            {
                var saved = _pos;
                _pos = atomStart;
                var f = ParseAtom();
                if (_pos != atomEnd)
                {
                    throw new NotSupportedException("could not repeat a quantified group.");
                }

                _pos = saved;
                return f;
            }

            var pieces = new List<Fragment>();
            var used = false;
            Fragment Next()
            {
                if (!used)
                {
                    used = true;
                    return first;
                }

                return Copy();
            }

            for (var i = 0; i < min; i++)
            {
                pieces.Add(Next());
            }

            if (max < 0)
            {
                pieces.Add(builder.Star(Next()));
            }
            else
            {
                for (var i = min; i < max; i++)
                {
                    pieces.Add(builder.Optional(Next()));
                }
            }

            if (pieces.Count == 0)
            {
                return builder.Empty();
            }

            var result = pieces[0];
            for (var i = 1; i < pieces.Count; i++)
            {
                result = builder.Concat(result, pieces[i]);
            }

            return result;
        }

        private bool TryParseCount(out int min, out int max)
        {
            var m = CountPattern().Match(pattern, _pos);
            if (!m.Success || m.Index != _pos)
            {
                min = max = 0;
                return false; // a literal '{', as .NET reads it
            }

            min = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            max = !m.Groups[2].Success ? min : m.Groups[3].Success ? int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture) : -1;
            if (min > 1000 || max > 1000 || (max >= 0 && max < min))
            {
                throw new NotSupportedException($"the count {m.Value} is out of the supported range.");
            }

            _pos += m.Length;
            return true;
        }

        private Fragment ParseAtom()
        {
            var c = pattern[_pos];
            switch (c)
            {
                case '(':
                    _pos++;
                    if (_pos < pattern.Length && pattern[_pos] == '?')
                    {
                        if (pattern.AsSpan(_pos).StartsWith("?:"))
                        {
                            _pos += 2;
                        }
                        else if (NamedGroupPattern().Match(pattern, _pos) is { Success: true } named && named.Index == _pos)
                        {
                            _pos += named.Length;
                        }
                        else
                        {
                            throw new NotSupportedException("lookarounds, inline options and other special groups are not supported.");
                        }
                    }

                    var inner = ParseAlternation();
                    if (_pos >= pattern.Length || pattern[_pos] != ')')
                    {
                        throw new NotSupportedException("unbalanced parenthesis.");
                    }

                    _pos++;
                    return inner;
                case '[':
                    return builder.Char(ParseClass());
                case '.':
                    _pos++;
                    return builder.Char(CharMatcher.AnyButNewline);
                case '^':
                    _pos++;
                    return builder.Empty(); // anchors: treated as always satisfied (accepts more, never less)
                case '$':
                    _pos++;
                    return builder.LookingAhead(orBeforeFinalLineFeed: true);
                case '\\':
                    return ParseEscapeAtom();
                case '*' or '+' or '?':
                    throw new NotSupportedException($"nothing to repeat at position {_pos}.");
                default:
                    _pos++;
                    return builder.Char(CharMatcher.Literal(c, ignoreCase));
            }
        }

        private Fragment ParseEscapeAtom()
        {
            var next = _pos + 1 < pattern.Length ? pattern[_pos + 1] : throw new NotSupportedException("trailing backslash.");
            if (next == 'G')
            {
                // \G holds where the previous match ended; the text a filter holds back starts elsewhere too.
                throw new NotSupportedException("\\G is not supported: where it holds depends on where the previous match ended.");
            }

            if (next is 'b' or 'B' or 'A' or 'z' or 'Z')
            {
                _pos += 2;
                return next == 'A' ? builder.Empty() : builder.LookingAhead(orBeforeFinalLineFeed: next == 'Z');
            }

            if (char.IsAsciiDigit(next) && next != '0' || next == 'k')
            {
                throw new NotSupportedException("backreferences are not supported.");
            }

            return builder.Char(ParseEscape(inClass: false));
        }

        private CharMatcher ParseEscape(bool inClass)
        {
            _pos++; // the backslash
            var c = pattern[_pos++];
            switch (c)
            {
                case 'd': return CharMatcher.Digit(false);
                case 'D': return CharMatcher.Digit(true);
                case 'w': return CharMatcher.Word(false);
                case 'W': return CharMatcher.Word(true);
                case 's': return CharMatcher.Space(false);
                case 'S': return CharMatcher.Space(true);
                case 't': return CharMatcher.Literal('\t', false);
                case 'n': return CharMatcher.Literal('\n', false);
                case 'r': return CharMatcher.Literal('\r', false);
                case 'f': return CharMatcher.Literal('\f', false);
                case 'v': return CharMatcher.Literal('\v', false);
                case 'e': return CharMatcher.Literal('\u001B', false);
                case 'a': return CharMatcher.Literal('\a', false);
                case '0': return CharMatcher.Literal(ReadOctal(c), ignoreCase);
                case >= '1' and <= '7' when inClass: return CharMatcher.Literal(ReadOctal(c), ignoreCase);
                case 'b' when inClass: return CharMatcher.Literal('\b', false);
                case 'x': return CharMatcher.Literal(ReadHex(2), ignoreCase);
                case 'u': return CharMatcher.Literal(ReadHex(4), ignoreCase);
                case 'p' or 'P':
                    throw new NotSupportedException("Unicode category escapes (\\p) are not supported.");
                default:
                    if (char.IsAsciiLetterOrDigit(c))
                    {
                        throw new NotSupportedException($"the escape \\{c} is not supported.");
                    }

                    return CharMatcher.Literal(c, ignoreCase);
            }
        }

        /// <summary>
        /// An octal escape, read as .NET reads it: up to three octal digits (<c>\0</c>, <c>\01</c>, <c>\012</c> is a line
        /// feed), the first already read.
        /// </summary>
        private char ReadOctal(char first)
        {
            var value = first - '0';
            for (var digits = 1; digits < 3 && _pos < pattern.Length && pattern[_pos] is >= '0' and <= '7'; digits++)
            {
                value = (value * 8) + (pattern[_pos++] - '0');
            }

            return (char)(value & 0xFF);
        }

        private char ReadHex(int digits)
        {
            if (_pos + digits > pattern.Length ||
                !int.TryParse(pattern.AsSpan(_pos, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var value))
            {
                throw new NotSupportedException("bad hexadecimal escape.");
            }

            _pos += digits;
            return (char)value;
        }

        private CharMatcher ParseClass()
        {
            _pos++; // '['
            var negated = false;
            if (_pos < pattern.Length && pattern[_pos] == '^')
            {
                negated = true;
                _pos++;
            }

            var items = new List<CharMatcher>();
            var first = true;
            while (_pos < pattern.Length && (pattern[_pos] != ']' || first))
            {
                first = false;
                if (pattern[_pos] == '[' && _pos + 1 < pattern.Length && pattern[_pos + 1] == ':')
                {
                    throw new NotSupportedException("POSIX classes are not supported.");
                }

                if (pattern[_pos] == '-' && _pos + 1 < pattern.Length && pattern[_pos + 1] == '[')
                {
                    throw new NotSupportedException("class subtraction is not supported.");
                }

                CharMatcher item;
                char? low = null;
                if (pattern[_pos] == '\\')
                {
                    item = ParseEscape(inClass: true);
                    low = item.SingleChar;
                }
                else
                {
                    low = pattern[_pos++];
                    item = CharMatcher.Literal(low.Value, ignoreCase);
                }

                if (low is { } lo && _pos + 1 < pattern.Length && pattern[_pos] == '-' && pattern[_pos + 1] != ']')
                {
                    _pos++;
                    char hi;
                    if (pattern[_pos] == '\\')
                    {
                        hi = ParseEscape(inClass: true).SingleChar ?? throw new NotSupportedException("a class range must end in a character.");
                    }
                    else
                    {
                        hi = pattern[_pos++];
                    }

                    if (hi < lo)
                    {
                        throw new NotSupportedException($"the range {lo}-{hi} is reversed.");
                    }

                    item = CharMatcher.Range(lo, hi, ignoreCase);
                }

                items.Add(item);
            }

            if (_pos >= pattern.Length)
            {
                throw new NotSupportedException("unterminated character class.");
            }

            _pos++; // ']'
            return CharMatcher.Union(items, negated);
        }
    }

    /// <summary>A test on one character.</summary>
    private sealed class CharMatcher
    {
        private readonly Func<char, bool> _test;

        private CharMatcher(Func<char, bool> test, char? single = null)
        {
            _test = test;
            SingleChar = single;
        }

        public static CharMatcher AnyButNewline { get; } = new(c => c != '\n');

        public char? SingleChar { get; }

        public static CharMatcher Literal(char c, bool ignoreCase)
        {
            // Ignoring case, .NET (invariant culture) takes the characters with the same lowercase: ß matches ẞ too,
            // though ß has no uppercase of its own.
            if (ignoreCase)
            {
                var lower = char.ToLowerInvariant(c);
                return new(x => char.ToLowerInvariant(x) == lower, c);
            }

            return new(x => x == c, c);
        }

        /// <summary>
        /// A range; ignoring case, a character matches when one with the same lowercase lies in the range, as .NET
        /// matches with the invariant culture: <c>[A-Z]</c> takes the Kelvin sign, whose lowercase is k.
        /// </summary>
        public static CharMatcher Range(char lo, char hi, bool ignoreCase) => ignoreCase
            ? new(x => (x >= lo && x <= hi) || SameLowercase.Any(x, y => y >= lo && y <= hi))
            : new(x => x >= lo && x <= hi);

        public static CharMatcher Digit(bool negated) => new(x => char.IsDigit(x) != negated);

        public static CharMatcher Word(bool negated) => new(x => IsWordChar(x) != negated);

        public static CharMatcher Space(bool negated) => new(x => char.IsWhiteSpace(x) != negated);

        public static CharMatcher Union(List<CharMatcher> items, bool negated)
        {
            var array = items.ToArray();
            return new(x =>
            {
                foreach (var item in array)
                {
                    if (item.Matches(x))
                    {
                        return !negated;
                    }
                }

                return negated;
            });
        }

        public bool Matches(char c) => _test(c);

        private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_' ||
            CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark;
    }

    /// <summary>The characters that share a lowercase (invariant) with another one: k, K and the Kelvin sign, say.</summary>
    private static class SameLowercase
    {
        private static readonly Dictionary<char, char[]> Groups = Build();

        /// <summary>Whether a character with the same lowercase as <paramref name="c"/> (or <paramref name="c"/>) passes.</summary>
        public static bool Any(char c, Func<char, bool> test)
        {
            if (!Groups.TryGetValue(char.ToLowerInvariant(c), out var group))
            {
                return test(c);
            }

            foreach (var member in group)
            {
                if (test(member))
                {
                    return true;
                }
            }

            return false;
        }

        private static Dictionary<char, char[]> Build()
        {
            var groups = new Dictionary<char, List<char>>();
            for (var i = 0; i <= char.MaxValue; i++)
            {
                var c = (char)i;
                var lower = char.ToLowerInvariant(c);
                if (!groups.TryGetValue(lower, out var group))
                {
                    groups[lower] = group = [];
                }

                group.Add(c);
            }

            return groups.Where(g => g.Value.Count > 1).ToDictionary(g => g.Key, g => g.Value.ToArray());
        }
    }
}
