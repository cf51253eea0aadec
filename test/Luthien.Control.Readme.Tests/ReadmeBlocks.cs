using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.Readme.Tests;

/// <summary>A fenced code block of a Markdown file, or a snippet of the compiled code, as lines.</summary>
/// <param name="Origin">Where it is, for messages: <c>README.md:58 (```csharp)</c> or <c>Snippets/WebApp/Program.cs</c>.</param>
internal sealed record CodeText(string Origin, IReadOnlyList<string> Lines)
{
    public bool SameAs(CodeText other) => Lines.SequenceEqual(other.Lines, StringComparer.Ordinal);
}

/// <summary>Reads the README's ```csharp and ```json blocks and the snippet files, and says how two of them differ.</summary>
internal static partial class ReadmeBlocks
{
    /// <summary>Put right before a fence (on the line above it) to keep a block out of the check; say why beside it.</summary>
    public const string ExclusionMarker = "<!-- snippet: none";

    private static readonly string[] CheckedLanguages = ["csharp", "cs", "c#", "json", "jsonc"];

    /// <summary>The checked blocks of a Markdown text, and the checked blocks kept out by <see cref="ExclusionMarker"/>.</summary>
    public static (IReadOnlyList<CodeText> Checked, IReadOnlyList<CodeText> Excluded) ReadMarkdown(string markdown, string fileName)
    {
        var lines = SplitLines(markdown);
        var included = new List<CodeText>();
        var excluded = new List<CodeText>();
        for (var i = 0; i < lines.Count; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success)
            {
                continue;
            }

            var ticks = fence.Groups["ticks"].Value;
            var language = fence.Groups["lang"].Value.Trim();
            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Count && !lines[i].TrimStart().StartsWith(ticks, StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }

            if (!CheckedLanguages.Contains(language, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var block = new CodeText($"{fileName}:{start + 1} (```{language})", Trim(body));
            var marked = start > 0 && lines[start - 1].TrimStart().StartsWith(ExclusionMarker, StringComparison.Ordinal);
            (marked ? excluded : included).Add(block);
        }

        return (included, excluded);
    }

    /// <summary>
    /// The snippets under <paramref name="snippetsDirectory"/>: every *.cs and *.json file outside bin/, obj/ and
    /// Properties/ (what IDEs write), whole, or, in a .cs file with <c>// &lt;snippet:name&gt;</c> …
    /// <c>// &lt;/snippet:name&gt;</c> markers, each marked region (its common indentation removed).
    /// </summary>
    public static IReadOnlyList<CodeText> ReadSnippets(string snippetsDirectory)
    {
        var snippets = new List<CodeText>();
        var files = Directory.EnumerateFiles(snippetsDirectory, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(snippetsDirectory, f).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj" or "Properties"))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var origin = "Snippets/" + Path.GetRelativePath(snippetsDirectory, file).Replace('\\', '/');
            snippets.AddRange(ReadSnippetFile(File.ReadAllText(file), origin));
        }

        return snippets;
    }

    public static IReadOnlyList<CodeText> ReadSnippetFile(string text, string origin)
    {
        var lines = SplitLines(text);
        var regions = new List<CodeText>();
        for (var i = 0; i < lines.Count; i++)
        {
            var open = SnippetStart().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var name = open.Groups["name"].Value;
            var end = lines.FindIndex(i + 1, l => l.Trim() == $"// </snippet:{name}>");
            if (end < 0)
            {
                throw new InvalidOperationException($"{origin}:{i + 1}: '// <snippet:{name}>' has no '// </snippet:{name}>'.");
            }

            regions.Add(new CodeText($"{origin} (snippet {name})", Trim(Dedent(lines.GetRange(i + 1, end - i - 1)))));
            i = end;
        }

        return regions.Count > 0 ? regions : [new CodeText(origin, Trim(lines))];
    }

    /// <summary>Where <paramref name="actual"/> first differs from <paramref name="expected"/>, for a failure message.</summary>
    public static string FirstDifference(CodeText actual, CodeText expected)
    {
        var count = Math.Max(actual.Lines.Count, expected.Lines.Count);
        for (var i = 0; i < count; i++)
        {
            var a = i < actual.Lines.Count ? actual.Lines[i] : null;
            var e = i < expected.Lines.Count ? expected.Lines[i] : null;
            if (!string.Equals(a, e, StringComparison.Ordinal))
            {
                return $"line {i + 1} of the block: {actual.Origin} has {Show(a)}, {expected.Origin} has {Show(e)}";
            }
        }

        return "no difference";
    }

    /// <summary>The candidate most like <paramref name="text"/> (most lines in common), to compare it with.</summary>
    public static CodeText? Nearest(CodeText text, IEnumerable<CodeText> candidates) =>
        candidates.MaxBy(c => c.Lines.Intersect(text.Lines, StringComparer.Ordinal).Count());

    /// <summary>One message for every text that has no identical counterpart.</summary>
    public static string Unmatched(IEnumerable<CodeText> texts, IReadOnlyList<CodeText> counterparts, string counterpartName)
    {
        var message = new StringBuilder();
        foreach (var text in texts.Where(t => !counterparts.Any(t.SameAs)))
        {
            message.Append(text.Origin).Append(": no identical ").Append(counterpartName);
            var nearest = Nearest(text, counterparts);
            message.AppendLine(nearest is null ? "." : "; nearest " + nearest.Origin + ", first difference at " + FirstDifference(text, nearest));
        }

        return message.ToString();
    }

    private static string Show(string? line) => line is null ? "(nothing: the block ended)" : $"`{line}`";

    private static List<string> SplitLines(string text) => [.. text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')];

    private static List<string> Trim(List<string> lines)
    {
        var first = lines.FindIndex(l => l.Trim().Length > 0);
        if (first < 0)
        {
            return [];
        }

        var last = lines.FindLastIndex(l => l.Trim().Length > 0);
        return lines.GetRange(first, last - first + 1);
    }

    private static List<string> Dedent(List<string> lines)
    {
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart(' ').Length).DefaultIfEmpty(0).Min();
        return [.. lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart(' '))];
    }

    [GeneratedRegex(@"^\s*(?<ticks>`{3,})(?<lang>[^`]*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*// <snippet:(?<name>[A-Za-z0-9_.-]+)>\s*$")]
    private static partial Regex SnippetStart();
}
