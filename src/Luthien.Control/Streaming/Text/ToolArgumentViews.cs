using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Luthien.Control.Streaming;

/// <summary>
/// The texts a tool call's arguments are judged by (<see cref="ToolArgumentRules"/>): forms in which JSON's escapes are
/// undone, so that a rule sees what the tool will.
/// </summary>
internal sealed class ToolArgumentViews
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private ToolArgumentViews(List<string> whole, List<string> all)
    {
        Whole = whole;
        All = all;
    }

    /// <summary>The arguments as a whole, in each form allow patterns must match.</summary>
    public IReadOnlyList<string> Whole { get; }

    /// <summary>Every text block patterns are matched against (the whole forms, the raw text, and each decoded string).</summary>
    public IReadOnlyList<string> All { get; }

    /// <summary>
    /// Reads the arguments; <see langword="null"/> when they are JSON a tool could read two ways (a repeated property
    /// name, a lone surrogate), which no rule can judge.
    /// </summary>
    /// <param name="arguments">The call's whole arguments.</param>
    public static ToolArgumentViews? Read(string arguments)
    {
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(arguments);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }

        var strings = new List<string>();
        string compact;
        try
        {
            if (!TryWriteCompact(utf8, strings, out compact))
            {
                return null;
            }
        }
        catch (JsonException)
        {
            // Not JSON: the text as it came, and with JSON-style escapes undone (a lenient reader on the other side may
            // still decode them).
            var decoded = UndoEscapes(arguments);
            List<string> forms = decoded == arguments ? [arguments] : [arguments, decoded];
            return new ToolArgumentViews(forms, forms);
        }

        var all = new List<string>(strings.Count + 2) { compact };
        if (compact != arguments)
        {
            all.Add(arguments);
        }

        all.AddRange(strings);
        return new ToolArgumentViews([compact], all);
    }

    /// <summary>
    /// Writes JSON again without whitespace and with minimal escapes, collecting every string (names and values)
    /// decoded; false when it repeats a property name in an object or holds a string that cannot be decoded.
    /// </summary>
    /// <exception cref="JsonException">The text is not one JSON value.</exception>
    private static bool TryWriteCompact(byte[] utf8, List<string> strings, out string compact)
    {
        compact = string.Empty;

        // Depth is no defence here (the text is already in memory and read without recursion): any depth is read, so
        // that deep nesting cannot make JSON count as free text.
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = int.MaxValue });
        var sb = new StringBuilder(utf8.Length);
        var names = new Stack<HashSet<string>?>();
        var needComma = false;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    Comma(sb, ref needComma);
                    sb.Append(reader.TokenType == JsonTokenType.StartObject ? '{' : '[');
                    names.Push(reader.TokenType == JsonTokenType.StartObject ? new HashSet<string>(StringComparer.Ordinal) : null);
                    break;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    sb.Append(reader.TokenType == JsonTokenType.EndObject ? '}' : ']');
                    names.Pop();
                    needComma = true;
                    break;
                case JsonTokenType.PropertyName:
                    if (!TryGetString(ref reader, out var name) || !names.Peek()!.Add(name))
                    {
                        return false;
                    }

                    Comma(sb, ref needComma);
                    sb.Append('"').Append(JsonArgumentsRedaction.Escape(name)).Append("\":");
                    strings.Add(name);
                    break;
                case JsonTokenType.String:
                    if (!TryGetString(ref reader, out var value))
                    {
                        return false;
                    }

                    Comma(sb, ref needComma);
                    sb.Append('"').Append(JsonArgumentsRedaction.Escape(value)).Append('"');
                    strings.Add(value);
                    needComma = true;
                    break;
                default:
                    // Numbers and literals, as they came.
                    Comma(sb, ref needComma);
                    sb.Append(Encoding.UTF8.GetString(reader.ValueSpan));
                    needComma = true;
                    break;
            }
        }

        compact = sb.ToString();
        return true;
    }

    private static void Comma(StringBuilder sb, ref bool needComma)
    {
        if (needComma)
        {
            sb.Append(',');
            needComma = false;
        }
    }

    private static bool TryGetString(ref Utf8JsonReader reader, out string value)
    {
        try
        {
            value = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate escape (or bytes that are not UTF-8): a tool's reader may take it any way.
            value = string.Empty;
            return false;
        }
    }

    /// <summary>Undoes JSON-style escapes wherever they stand (<c>\u0064</c>, <c>\n</c>, <c>\"</c>, …); others stay as they are.</summary>
    private static string UndoEscapes(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '\\' || i + 1 >= text.Length)
            {
                sb.Append(c);
                continue;
            }

            var next = text[i + 1];
            char? simple = next switch
            {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                _ => null,
            };
            if (simple is { } s)
            {
                sb.Append(s);
                i++;
            }
            else if (next == 'u' && i + 5 < text.Length && ushort.TryParse(text.AsSpan(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit))
            {
                sb.Append((char)unit);
                i += 5;
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
