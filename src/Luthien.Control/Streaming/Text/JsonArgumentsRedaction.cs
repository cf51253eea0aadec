using System.Text;

namespace Luthien.Control.Streaming;

/// <summary>What a character of a tool call's arguments is, for redaction.</summary>
internal enum ArgumentCharRole
{
    /// <summary>The arguments are not JSON (a custom tool's free-form input): text as any other.</summary>
    Raw,

    /// <summary>JSON structure: a string's quotes, <c>{ } [ ] : ,</c> or whitespace outside strings.</summary>
    Structure,

    /// <summary>Inside a JSON string (escape sequences included).</summary>
    Content,

    /// <summary>Outside strings but not structure: a number, <c>true</c>, <c>false</c>, <c>null</c>.</summary>
    Scalar,
}

/// <summary>
/// Follows a tool call's arguments text through JSON's grammar, as far as redaction needs: inside a string or not, in an
/// escape or not. Text whose first non-blank character is not <c>{</c> or <c>[</c> is not JSON (custom tools send
/// free-form input) and is all <see cref="ArgumentCharRole.Raw"/>. A mutable struct: copy it to look ahead.
/// </summary>
internal struct JsonTextCursor
{
    private const byte Undecided = 0;
    private const byte Json = 1;
    private const byte NotJson = 2;

    private byte _mode;
    private bool _inString;
    private bool _escaped;
    private byte _hexLeft;

    /// <summary>Just after a backslash inside a string.</summary>
    public readonly bool InEscape => _escaped;

    /// <summary>Hex digits still due in a <c>\u</c> escape.</summary>
    public readonly int HexLeft => _hexLeft;

    /// <summary>Reads one character; returns what it is.</summary>
    public ArgumentCharRole Step(char c)
    {
        if (_mode == Undecided)
        {
            if (IsBlank(c))
            {
                return ArgumentCharRole.Structure;
            }

            _mode = c is '{' or '[' ? Json : NotJson;
        }

        if (_mode == NotJson)
        {
            return ArgumentCharRole.Raw;
        }

        if (_inString)
        {
            if (_hexLeft > 0)
            {
                _hexLeft--;
            }
            else if (_escaped)
            {
                _escaped = false;
                _hexLeft = c == 'u' ? (byte)4 : (byte)0;
            }
            else if (c == '\\')
            {
                _escaped = true;
            }
            else if (c == '"')
            {
                _inString = false;
                return ArgumentCharRole.Structure;
            }

            return ArgumentCharRole.Content;
        }

        if (c == '"')
        {
            _inString = true;
            return ArgumentCharRole.Structure;
        }

        return c is '{' or '}' or '[' or ']' or ':' or ',' || IsBlank(c) ? ArgumentCharRole.Structure : ArgumentCharRole.Scalar;
    }

    /// <summary>Reads a run of characters.</summary>
    public void Advance(ReadOnlySpan<char> text)
    {
        if (_mode == NotJson)
        {
            return;
        }

        foreach (var c in text)
        {
            Step(c);
        }
    }

    private static bool IsBlank(char c) => c is ' ' or '\t' or '\n' or '\r';
}

/// <summary>
/// Redaction inside a tool call's arguments, which are JSON text for function tools: the replacement goes in so that the
/// text stays JSON where it was. Inside a string the replacement is JSON-escaped; the structure a match spans (quotes,
/// brackets, commas, colons) is kept and each run of string content it covers becomes one replacement; a number or
/// literal it covers becomes the replacement as a JSON string. Only a match that covers part of a number or literal (and
/// not all of it) can leave the text not JSON. Free-form input (not JSON) gets the replacement as it is.
/// </summary>
internal static class JsonArgumentsRedaction
{
    /// <summary>
    /// Rewrites <paramref name="text"/>, replacing the matches that end by its end; <paramref name="cursor"/> stands where
    /// the text begins (it is not moved).
    /// </summary>
    /// <param name="text">The text to let out.</param>
    /// <param name="matches">Matches (index, length) in order, relative to the text; those past its end are ignored.</param>
    /// <param name="cursor">The grammar state at the text's start.</param>
    /// <param name="replacement">The replacement as configured.</param>
    /// <param name="escapedReplacement">The replacement JSON-escaped (<see cref="Escape"/>).</param>
    public static string Redact(string text, IEnumerable<(int Index, int Length)> matches, JsonTextCursor cursor, string replacement, string escapedReplacement)
    {
        var sb = new StringBuilder(text.Length);
        var position = 0;
        foreach (var (index, length) in matches)
        {
            if (index + length > text.Length)
            {
                break;
            }

            foreach (var c in text.AsSpan(position, index - position))
            {
                cursor.Step(c);
            }

            sb.Append(text, position, index - position);

            // A match that begins inside an escape the text before it began: end that escape first, as a backslash (after
            // a backslash) or as zeros (after \u and some hex digits), so that the replacement is not read as its tail.
            if (cursor.InEscape)
            {
                sb.Append('\\');
            }
            else if (cursor.HexLeft > 0)
            {
                sb.Append('0', cursor.HexLeft);
            }

            var previous = (ArgumentCharRole?)null;
            for (var i = index; i < index + length; i++)
            {
                var role = cursor.Step(text[i]);
                switch (role)
                {
                    case ArgumentCharRole.Structure:
                        sb.Append(text[i]);
                        break;
                    case ArgumentCharRole.Content when previous != role:
                        sb.Append(escapedReplacement);
                        break;
                    case ArgumentCharRole.Scalar when previous != role:
                        sb.Append('"').Append(escapedReplacement).Append('"');
                        break;
                    case ArgumentCharRole.Raw when previous != role:
                        sb.Append(replacement);
                        break;
                }

                previous = role;
            }

            // A match that ends just after a backslash: the character after it is that escape's, so the backslash stays.
            if (cursor.InEscape)
            {
                sb.Append('\\');
            }

            position = index + length;
        }

        return sb.Append(text, position, text.Length - position).ToString();
    }

    /// <summary>A text as the content of a JSON string: quotes, backslashes and control characters escaped.</summary>
    public static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case < ' ':
                    sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }
}
