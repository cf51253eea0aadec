using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Luthien.Control.PostgreSql;

/// <summary>
/// Makes JSON text acceptable to <c>jsonb</c>, which refuses some valid JSON: the escape <c>\u0000</c> and unpaired
/// surrogate escapes (its strings are UTF-8 text), numbers beyond its <c>numeric</c> (e.g. <c>1e999999</c>), and
/// nesting past the server's stack. A client's request or a backend's answer may carry any of them, and a row
/// <c>jsonb</c> refuses fails its whole batch on every retry, so each is changed instead, as little as it takes:
/// a bad escape becomes U+FFFD, such a number becomes a string of its own text, and text that cannot be read as JSON
/// is stored as one JSON string. Numbers are also kept short because <c>jsonb</c> prints them in full: <c>1e100000</c>
/// is six bytes in a request and a hundred thousand digits in every read of the row.
/// </summary>
internal static class JsonbText
{
    /// <summary>The longest number, and the largest exponent, kept as a number.</summary>
    private const int MaxNumberLength = 40;

    /// <summary>Deeper nesting is stored as a string: the server parses <c>jsonb</c> recursively.</summary>
    private const int MaxDepth = 1000;

    private static readonly byte[] Replacement = "\\ufffd"u8.ToArray();

    /// <summary>The JSON as <c>jsonb</c> takes it: the same text when nothing needs changing (nearly always).</summary>
    /// <param name="json">The JSON text; <see langword="null"/> for none.</param>
    public static string? ForJsonb(string? json)
    {
        if (json is null)
        {
            return null;
        }

        // A lone surrogate char cannot be sent as UTF-8: the conversion makes it U+FFFD.
        var utf8 = Encoding.UTF8.GetBytes(json);
        var converted = json.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') >= 0 && !Encoding.UTF8.GetString(utf8).Equals(json, StringComparison.Ordinal);
        List<(int Start, int Length, bool IsNumber)>? edits = null;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.Number when !IsModest(reader.ValueSpan):
                        (edits ??= []).Add(((int)reader.TokenStartIndex, reader.ValueSpan.Length, true));
                        break;
                    case JsonTokenType.String or JsonTokenType.PropertyName when reader.ValueIsEscaped && FixEscapes(reader.ValueSpan, null):
                        // The token starts at its opening quote.
                        (edits ??= []).Add(((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, false));
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return AsJsonString(json);
        }

        if (edits is null)
        {
            return converted ? Encoding.UTF8.GetString(utf8) : json;
        }

        var output = new ArrayBufferWriter<byte>(utf8.Length + 16);
        var copied = 0;
        foreach (var (start, length, isNumber) in edits)
        {
            output.Write(utf8.AsSpan(copied, start - copied));
            var token = utf8.AsSpan(start, length);
            if (isNumber)
            {
                // A number's characters need no escaping inside a string.
                output.Write("\""u8);
                output.Write(token);
                output.Write("\""u8);
            }
            else
            {
                FixEscapes(token, output);
            }

            copied = start + length;
        }

        output.Write(utf8.AsSpan(copied));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>Whether <c>numeric</c> holds the number, printed no longer than about its own text.</summary>
    private static bool IsModest(ReadOnlySpan<byte> number)
    {
        if (number.Length > MaxNumberLength)
        {
            return false;
        }

        var e = number.IndexOfAny((byte)'e', (byte)'E');
        if (e < 0)
        {
            return true;
        }

        var exponent = number[(e + 1)..].TrimStart("+-"u8).TrimStart((byte)'0');
        // At most two digits, and within the bound: the reader has checked they are digits.
        return exponent.Length <= 2 && (exponent.Length < 2 || ((exponent[0] - '0') * 10) + (exponent[1] - '0') <= MaxNumberLength);
    }

    /// <summary>
    /// Finds, in a string's raw (still escaped) text, the escapes <c>jsonb</c> refuses: <c>\u0000</c> and unpaired
    /// surrogates. Writes the text with each replaced by <c>\ufffd</c> to <paramref name="output"/> when given.
    /// </summary>
    /// <returns>Whether there was any.</returns>
    private static bool FixEscapes(ReadOnlySpan<byte> raw, ArrayBufferWriter<byte>? output)
    {
        var found = false;
        var i = 0;
        while (i < raw.Length)
        {
            if (raw[i] != '\\')
            {
                output?.Write(raw.Slice(i, 1));
                i++;
                continue;
            }

            if (raw[i + 1] != 'u')
            {
                // \" \\ \/ \b \f \n \r \t: two bytes, the second never a backslash that starts an escape.
                output?.Write(raw.Slice(i, 2));
                i += 2;
                continue;
            }

            var code = Hex(raw.Slice(i + 2, 4));
            var length = 6;
            var bad = code == 0 || code is >= 0xDC00 and <= 0xDFFF;
            if (code is >= 0xD800 and <= 0xDBFF)
            {
                var pairs = raw.Length >= i + 12 && raw[i + 6] == '\\' && raw[i + 7] == 'u' && Hex(raw.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF;
                if (pairs)
                {
                    length = 12;
                }
                else
                {
                    bad = true;
                }
            }

            found |= bad;
            output?.Write(bad ? Replacement : raw.Slice(i, length));
            i += length;
        }

        return found;
    }

    private static int Hex(ReadOnlySpan<byte> digits)
    {
        var value = 0;
        foreach (var digit in digits)
        {
            value = (value << 4) | (digit <= '9' ? digit - '0' : (digit | 0x20) - 'a' + 10);
        }

        return value;
    }

    /// <summary>Text that is not JSON jsonb can read, as one JSON string (NUL and lone surrogates as U+FFFD).</summary>
    private static string AsJsonString(string text)
    {
        var output = new ArrayBufferWriter<byte>(text.Length + 16);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStringValue(Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)).Replace('\0', '\uFFFD'));
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
