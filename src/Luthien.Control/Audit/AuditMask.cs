using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control;

/// <summary>A policy that knows what secrets look like: its patterns are masked in every audit row, whatever it decided.</summary>
internal interface ISecretPatterns
{
    /// <summary>Regular expressions of the secrets the policy looks for.</summary>
    IEnumerable<string> SecretPatterns { get; }
}

/// <summary>
/// Hides secrets in what the audit log stores: every string in a row's JSON is searched for API-key-like text (the
/// built-in shapes, the client keys this library makes, and every pattern a leaked-key or content policy of the chain
/// looks for), and a match is replaced by <see cref="Replacement"/>; <see cref="MaskedJson"/> applies it to a row's
/// strings and names as it writes them, and hides the value of a member whose name says it holds a credential. So a key
/// found in a prompt, or a secret a policy redacted from an answer, is never written to disk.
/// </summary>
internal sealed class AuditMask
{
    /// <summary>What a masked secret becomes.</summary>
    public const string Replacement = "[REDACTED]";

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(200);

    private static readonly string[] BuiltIn =
    [
        @"(?i)bearer\s+[A-Za-z0-9\-_.~+/=]{8,}",
        @"\blck-[A-Za-z0-9_\-]{16,}",
        @"\b(sk-[A-Za-z0-9_\-]{16,}|xox[baprs]-[A-Za-z0-9\-]{10,}|github_pat_[A-Za-z0-9_]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})",
    ];

    private readonly Regex[] _patterns;

    // The patterns that run without backtracking as one alternation: one scan shows that none of them matches, which
    // is what almost all text shows. Null when they do not combine.
    private readonly Regex? _any;

    // The patterns _any does not stand for, each tried alone before text is let through as it is.
    private readonly Regex[] _alone;

    // Whether _any stands for every pattern and none is anchored: then one scan of a JSON text without escapes tells
    // that none of its strings holds a secret (see IsCleanJson).
    private readonly bool _wholeText;

    /// <summary>A mask of the built-in shapes and <paramref name="extra"/> (patterns that do not compile are skipped: the policy that owns them reported it at start).</summary>
    /// <param name="extra">More patterns.</param>
    public AuditMask(IEnumerable<string> extra)
    {
        var patterns = new List<Regex>();
        var combined = new List<string>();
        var alone = new List<Regex>();
        foreach (var pattern in BuiltIn.Concat(LeakedApiKeyDetectionPolicy.DefaultPatterns).Concat(extra).Distinct(StringComparer.Ordinal))
        {
            try
            {
                var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout);
                patterns.Add(regex);

                // A '#' may start a comment (x mode) that would swallow the rest of the alternation: such a one alone.
                if (pattern.Contains('#', StringComparison.Ordinal))
                {
                    alone.Add(regex);
                }
                else
                {
                    combined.Add(pattern);
                }
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                // Not every .NET pattern runs without backtracking; such a one is tried the usual way, under the timeout.
                try
                {
                    var regex = new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
                    patterns.Add(regex);
                    alone.Add(regex);
                }
                catch (ArgumentException)
                {
                }
            }
        }

        _patterns = [.. patterns];
        try
        {
            // Each pattern in a group of its own keeps its inline options to itself.
            _any = combined.Count == 0 ? null : new Regex(string.Join('|', combined.Select(p => $"(?:{p})")), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, MatchTimeout);
            _alone = [.. alone];

            // ^ $ \A \z \Z \G mean something else in a string alone than in the text around it (checked loosely: a
            // [^…] class also rules the shortcut out, which only costs speed).
            _wholeText = _any is not null && alone.Count == 0 &&
                !combined.Any(p => p.AsSpan().IndexOfAny('^', '$') >= 0 || p.Contains(@"\A", StringComparison.Ordinal) ||
                    p.Contains(@"\z", StringComparison.Ordinal) || p.Contains(@"\Z", StringComparison.Ordinal) || p.Contains(@"\G", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            _any = null;
            _alone = _patterns;
        }
    }

    /// <summary>The mask for a policy chain: the built-in shapes, whatever its policies look for, and <paramref name="extra"/>.</summary>
    /// <param name="root">The root policy.</param>
    /// <param name="extra">More patterns (the host's own secrets, escaped).</param>
    public static AuditMask For(ControlPolicy? root, IEnumerable<string>? extra = null) =>
        new((root is null ? [] : Collect(root)).Concat(extra ?? []));

    /// <summary>Masks the secrets in one string; the same instance when there are none.</summary>
    /// <param name="text">The text.</param>
    public string Apply(string text)
    {
        try
        {
            if (!AnyMatches(text))
            {
                return text;
            }
        }
        catch (RegexMatchTimeoutException)
        {
            // Fail closed: text that cannot be searched in time is not stored.
            return Replacement;
        }

        // Pattern by pattern, each on what the one before left, as before the one-scan check.
        var result = text;
        foreach (var pattern in _patterns)
        {
            try
            {
                if (pattern.IsMatch(result))
                {
                    result = pattern.Replace(result, Replacement);
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // Fail closed: text that cannot be searched in time is not stored.
                return Replacement;
            }
        }

        return result;
    }

    /// <summary>
    /// Whether no pattern matches <paramref name="text"/> (then masking leaves it as it is) — without making a string of
    /// it. Text that cannot be searched in time is not clean.
    /// </summary>
    /// <param name="text">The text.</param>
    public bool IsClean(ReadOnlySpan<char> text)
    {
        try
        {
            return !AnyMatches(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether, by one scan of the whole text, no string (value or name) of a JSON text holds a secret; <see langword="false"/>
    /// when that cannot be told this way (then each string is checked). The text must hold no backslash — so that every
    /// string in it reads as it is written — and no pattern may be anchored; a match inside a string is then a match
    /// in the text at the same place, even for <c>\b</c>: a quote, which is no word character, stands on both sides of
    /// every string. A match across strings only costs the shortcut.
    /// </summary>
    /// <param name="json">A JSON text (UTF-8, already validated).</param>
    public bool IsCleanJson(ReadOnlySpan<byte> json)
    {
        if (!_wholeText || json.Contains((byte)'\\'))
        {
            return false;
        }

        var chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(json.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(json, chars);
            return !_any!.IsMatch(chars.AsSpan(0, length));
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>Whether any pattern matches <paramref name="text"/>; when none does, masking leaves it as it is.</summary>
    private bool AnyMatches(ReadOnlySpan<char> text)
    {
        if (_any is not null && _any.IsMatch(text))
        {
            return true;
        }

        foreach (var pattern in _alone)
        {
            if (pattern.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<string> Collect(ControlPolicy root) =>
        PolicyTree.SelfAndDescendants(root).OfType<ISecretPatterns>().SelectMany(p => p.SecretPatterns);
}
