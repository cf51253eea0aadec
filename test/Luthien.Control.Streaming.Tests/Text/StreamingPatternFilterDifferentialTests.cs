using System.Globalization;
using System.Text;

namespace Luthien.Control.Streaming.Tests.Text;

/// <summary>
/// Differential tests: random patterns from the streaming subset, random texts and random ways of cutting them into
/// pieces; the streaming filter must give exactly what <see cref="System.Text.RegularExpressions.Regex"/> gives on the
/// whole text, and must never let out, even for a moment, text that the whole text's matches cover. Each seed is
/// fixed, so a failure reproduces; its message gives the case, shrunk to a small one.
/// </summary>
public class StreamingPatternFilterDifferentialTests
{
    private const string Replacement = "<R>";
    private const int NoLimit = 1_000_000;
    private const int TextsPerPatternSet = 4;
    private const int SplitsPerText = 3;

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void Append_RandomPatternsAndSplits_MatchesRegexReplace(int seed) =>
        RunCases(seed, 15_000, (patterns, text, split) => CheckFilter(patterns, ContentAction.Redact, text, split));

    [TestCase(11)]
    [TestCase(12)]
    [TestCase(13)]
    [TestCase(14)]
    public void Append_RandomPatternsAndSplits_BlocksBeforeFirstRegexMatch(int seed) =>
        RunCases(seed, 12_500, (patterns, text, split) => CheckFilter(patterns, ContentAction.Block, text, split));

    [TestCase(21)]
    [TestCase(22)]
    public void PendingStart_RandomPatternsAndSplits_NeverAfterAnUnfinishedRegexMatch(int seed) =>
        RunCases(seed, 10_000, CheckTracker);

    /// <summary>Runs <paramref name="cases"/> random cases; fails with the first few failures, each shrunk.</summary>
    private static void RunCases(int seed, int cases, Func<ContentPatterns, string, string[], string?> check)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var random = new Random(seed);
        var generator = new RandomPatternGenerator(random);
        var done = 0;
        var rejected = new Dictionary<string, int>();
        var failures = new List<string>();
        while (done < cases && failures.Count < 3)
        {
            var patterns = Enumerable.Range(0, random.Next(1, 4)).Select(_ => generator.NextPattern()).ToList();
            var texts = patterns.Select(p => p.Text).ToList();
            if (Compile(texts, out var reason) is not { } compiled)
            {
                // Outside what ContentPatterns accepts (matches empty text, not valid .NET syntax, ...): not a case.
                rejected[reason!] = rejected.GetValueOrDefault(reason!) + 1;
                continue;
            }

            for (var t = 0; t < TextsPerPatternSet && failures.Count < 3; t++)
            {
                var text = generator.NextText(patterns);
                for (var s = 0; s < SplitsPerText; s++)
                {
                    var split = generator.NextSplit(text);
                    done++;
                    if (Check(check, compiled, split) is { } failure)
                    {
                        failures.Add($"seed {seed}, case {done}: {Shrink(texts, split, check, failure)}");
                        break;
                    }
                }
            }
        }

        TestContext.Out.WriteLine($"seed {seed}: {done} cases in {clock.Elapsed.TotalSeconds:0.00} s; pattern sets rejected: " +
            string.Join(", ", rejected.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
        Assert.That(failures, Is.Empty, () => string.Join("\n\n", failures));
    }

    /// <summary>Runs one case; an exception (a regex timeout, say) is a failure like any other.</summary>
    private static string? Check(Func<ContentPatterns, string, string[], string?> check, ContentPatterns patterns, IReadOnlyList<string> split)
    {
        try
        {
            return check(patterns, string.Concat(split), [.. split]);
        }
        catch (Exception ex) when (ex is not AssertionException)
        {
            return $"threw {ex.GetType().Name}: {ex.Message}";
        }
    }

    /// <summary>The compiled patterns, or null and why <see cref="ContentPatterns"/> refuses them.</summary>
    private static ContentPatterns? Compile(IReadOnlyList<string> patterns, out string? reason)
    {
        try
        {
            reason = null;
            // The interpreter, not IL: 130,000 sets compiled to IL would take minutes. It answers as the compiled engine
            // does, but for lazy loops over parts that can match empty, which the generator leaves out (see there).
            return new ContentPatterns(patterns, compiled: false);
        }
        catch (ArgumentException ex) when (ex.GetType() == typeof(ArgumentException) && ex.ParamName == "patterns")
        {
            var message = ex.Message;
            reason = message.Contains("not a valid regular expression", StringComparison.Ordinal) ? "invalid"
                : message.Contains("matches empty text", StringComparison.Ordinal) ? "empty match"
                : "unsupported";
            return null;
        }
    }

    /// <summary>
    /// Streams the pieces through a filter. After each piece, what was let out must be the beginning of what the
    /// whole text gives (else a match, or part of one, was let out); at the end it must be all of it.
    /// </summary>
    private static string? CheckFilter(ContentPatterns compiled, ContentAction action, string text, string[] split)
    {
        var first = compiled.Combined.Match(text);
        var expected = action == ContentAction.Redact
            ? compiled.Combined.Replace(text, _ => Replacement)
            : first.Success ? text[..first.Index] : text;
        var expectBlocked = action == ContentAction.Block && first.Success;

        var filter = new StreamingPatternFilter(compiled, action, Replacement, NoLimit);
        var output = new StringBuilder();
        var blocked = false;
        for (var i = 0; i <= split.Length; i++)
        {
            var step = i < split.Length ? filter.Append(split[i]) : filter.Flush();
            var when = i < split.Length ? $"after piece {i}" : "after Flush";
            if (blocked && (step.Text.Length > 0 || !step.Blocked))
            {
                return $"{when}: let out {Show(step.Text)} (blocked {step.Blocked}) after it had blocked";
            }

            output.Append(step.Text);
            blocked |= step.Blocked;
            var sent = output.ToString();
            if (!expected.StartsWith(sent, StringComparison.Ordinal))
            {
                return $"{when}: let out {Show(sent)}, which is not the beginning of the expected {Show(expected)}";
            }

            if (step.Blocked && (!expectBlocked || sent != expected))
            {
                return $"{when}: blocked after {Show(sent)}; expected {(expectBlocked ? $"to block after {Show(expected)}" : "no block")}";
            }
        }

        if (output.ToString() != expected || blocked != expectBlocked)
        {
            return $"got {Show(output.ToString())} (blocked {blocked}), expected {Show(expected)} (blocked {expectBlocked})";
        }

        return null;
    }

    /// <summary>
    /// Feeds the pieces to a tracker. After each piece, no match of the whole text that has begun but not ended may
    /// start before <see cref="PatternPrefixAutomaton.Tracker.PendingStart"/>, and a match that ended within the
    /// piece must show in <see cref="PatternPrefixAutomaton.Tracker.MatchSeen"/>.
    /// </summary>
    private static string? CheckTracker(ContentPatterns compiled, string text, string[] split)
    {
        var matches = compiled.Combined.Matches(text);
        var tracker = compiled.Automaton.CreateTracker();
        var length = 0;
        for (var i = 0; i < split.Length; i++)
        {
            tracker.ClearMatchSeen();
            tracker.Append(split[i]);
            var previous = length;
            length += split[i].Length;
            foreach (System.Text.RegularExpressions.Match m in matches)
            {
                var end = m.Index + m.Length;
                if (m.Index < length && end > length && tracker.PendingStart > m.Index)
                {
                    return $"after piece {i} ({length} chars): PendingStart is {tracker.PendingStart}, but the match {Show(m.Value)} at {m.Index} is not finished";
                }

                if (end > previous && end <= length && !tracker.MatchSeen)
                {
                    return $"after piece {i} ({length} chars): MatchSeen is false, but the match {Show(m.Value)} at {m.Index} ended in the piece";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Makes a failing case smaller (fewer patterns, characters and pieces) while it still fails, for at most 20 s (a
    /// case that times out the regex takes a second a try).
    /// </summary>
    private static string Shrink(List<string> patterns, string[] split, Func<ContentPatterns, string, string[], string?> check, string failure)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? Try(List<string> p, List<string> s)
        {
            return Compile(p, out _) is { } compiled ? Check(check, compiled, s) : null;
        }

        var bestPatterns = patterns;
        var bestSplit = split.ToList();
        var bestFailure = failure;
        for (var improved = true; improved && clock.Elapsed < TimeSpan.FromSeconds(20);)
        {
            improved = false;
            var candidates = new List<(List<string> Patterns, List<string> Split)>();
            for (var i = 0; i < bestPatterns.Count && bestPatterns.Count > 1; i++)
            {
                candidates.Add(([.. bestPatterns.Where((_, j) => j != i)], bestSplit));
            }

            for (var i = 0; i < bestSplit.Count; i++)
            {
                candidates.Add((bestPatterns, [.. bestSplit.Where((_, j) => j != i)]));
                if (i + 1 < bestSplit.Count)
                {
                    var merged = bestSplit.ToList();
                    merged[i] += merged[i + 1];
                    merged.RemoveAt(i + 1);
                    candidates.Add((bestPatterns, merged));
                }

                for (var c = 0; c < bestSplit[i].Length; c++)
                {
                    var fewer = bestSplit.ToList();
                    fewer[i] = fewer[i].Remove(c, 1);
                    candidates.Add((bestPatterns, fewer));
                }
            }

            foreach (var (p, s) in candidates)
            {
                if (Try(p, s) is { } f)
                {
                    (bestPatterns, bestSplit, bestFailure, improved) = (p, s, f, true);
                    break;
                }
            }
        }

        return $"patterns [{string.Join(", ", bestPatterns.Select(Show))}], text {Show(string.Concat(bestSplit))}, " +
            $"pieces [{string.Join(", ", bestSplit.Select(Show))}]: {bestFailure}\n  (before shrinking: patterns [" +
            $"{string.Join(", ", patterns.Select(Show))}], pieces [{string.Join(", ", split.Select(Show))}]: {failure})";
    }

    /// <summary>A C# string literal for the text.</summary>
    private static string Show(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                _ when c < ' ' || c > '~' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }
}
