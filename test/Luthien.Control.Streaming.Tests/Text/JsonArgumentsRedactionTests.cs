using System.Text;
using System.Text.Json;

namespace Luthien.Control.Streaming.Tests.Text;

public class JsonArgumentsRedactionTests
{
    [Test]
    public void Escape_QuotesBackslashesAndControls_JsonStringContent()
    {
        var escaped = JsonArgumentsRedaction.Escape("a\"b\\c\n\u0001");

        Assert.That(JsonSerializer.Deserialize<string>($"\"{escaped}\""), Is.EqualTo("a\"b\\c\n\u0001"));
    }

    /// <summary>
    /// Random JSON arguments, random literal patterns cut from them (so matches cross quotes, escapes and structure), every
    /// split into two fragments: the redacted text is JSON whenever no match covers only part of a number or literal.
    /// </summary>
    [Test]
    public void Append_RandomArgumentsAndPatterns_RedactedTextStaysJson()
    {
        var random = new Random(1234);
        var checkedCount = 0;
        for (var round = 0; round < 400; round++)
        {
            var arguments = RandomArguments(random);
            var start = random.Next(arguments.Length - 1);
            var length = 1 + random.Next(Math.Min(8, arguments.Length - start));
            var literal = arguments.Substring(start, length);
            if (string.IsNullOrWhiteSpace(literal) || CutsAScalar(arguments, literal))
            {
                continue;
            }

            var patterns = new ContentPatterns([System.Text.RegularExpressions.Regex.Escape(literal)], compiled: false);
            var cut = 1 + random.Next(arguments.Length - 1);
            var filter = new StreamingPatternFilter(patterns, ContentAction.Redact, "[\"R\\]", 10_000, jsonArguments: true);
            var written = new StringBuilder()
                .Append(filter.Append(arguments[..cut]).Text)
                .Append(filter.Append(arguments[cut..]).Text)
                .Append(filter.Flush().Text)
                .ToString();

            Assert.DoesNotThrow(() => JsonDocument.Parse(written).Dispose(), $"{arguments} / {literal} / cut {cut} -> {written}");
            Assert.That(written, Is.EqualTo(StreamingPatternFilter.ApplyToWhole(patterns, ContentAction.Redact, "[\"R\\]", arguments, jsonArguments: true).Text));
            checkedCount++;
        }

        Assert.That(checkedCount, Is.GreaterThan(200));
    }

    private static string RandomArguments(Random random)
    {
        string[] values = ["\"plain\"", "\"with \\\"quote\\\"\"", "\"tab\\tand\\nline\"", "\"\\u00e9t\\u00e9\"", "\"back\\\\slash\"", "12", "true", "null", "[1,\"x\"]", "{\"in\":\"ner\"}"];
        var sb = new StringBuilder("{");
        var count = 1 + random.Next(4);
        for (var i = 0; i < count; i++)
        {
            sb.Append(i > 0 ? ", " : string.Empty).Append("\"k").Append(i).Append("\": ").Append(values[random.Next(values.Length)]);
        }

        return sb.Append('}').ToString();
    }

    /// <summary>Whether an occurrence of the literal begins or ends inside a number or literal (the one case left out).</summary>
    private static bool CutsAScalar(string text, string literal)
    {
        for (var at = text.IndexOf(literal, StringComparison.Ordinal); at >= 0; at = text.IndexOf(literal, at + 1, StringComparison.Ordinal))
        {
            if (InScalar(text, at) && at > 0 && InScalar(text, at - 1))
            {
                return true;
            }

            var end = at + literal.Length;
            if (end < text.Length && InScalar(text, end - 1) && InScalar(text, end))
            {
                return true;
            }
        }

        return false;
    }

    private static bool InScalar(string text, int position)
    {
        var cursor = default(JsonTextCursor);
        var role = ArgumentCharRole.Structure;
        for (var i = 0; i <= position; i++)
        {
            role = cursor.Step(text[i]);
        }

        return role == ArgumentCharRole.Scalar;
    }
}
