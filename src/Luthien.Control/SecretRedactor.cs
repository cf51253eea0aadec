using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Luthien.Control;

/// <summary>Finds and hides credentials before anything is logged or echoed.</summary>
internal static partial class SecretRedactor
{
    private static readonly FrozenSet<string> SensitiveNames = new[]
    {
        "authorization", "proxy-authorization", "api-key", "x-api-key", "api_key", "apikey", "cookie", "set-cookie",
        "password", "passwd", "pwd", "secret", "token", "access_token", "refresh_token", "private_key", "secret_key",
        "client_secret", "ocp-apim-subscription-key",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> SensitiveSpans = SensitiveNames.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Whether a header or field with this name carries a credential.</summary>
    /// <param name="name">A header or JSON field name.</param>
    public static bool IsSensitiveHeader(string name) => SensitiveNames.Contains(name) || CredentialHeaders.BuiltIn.Contains(name);

    /// <summary>Whether a header or field with this name carries a credential (no string needed).</summary>
    /// <param name="name">A header or JSON field name.</param>
    public static bool IsSensitiveHeader(ReadOnlySpan<char> name) =>
        SensitiveSpans.Contains(name) || CredentialHeaders.BuiltIn.Contains(name);

    /// <summary>
    /// Whether a name merely looks like it carries a credential (<c>X-Session-Id</c>, <c>X-My-Token</c>, …). Too broad to
    /// stop forwarding on, but a log can lose such a value at no cost, and a vendor's credential header nobody listed
    /// then still stays out of it.
    /// </summary>
    /// <param name="name">A header name.</param>
    internal static bool LooksLikeCredential(string name)
    {
        foreach (var part in CredentialNameParts)
        {
            if (name.Contains(part, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly string[] CredentialNameParts = ["key", "token", "secret", "auth", "password", "cookie", "session"];

    /// <summary>Replaces bearer tokens and API-key-like strings in <paramref name="text"/> with <c>***</c>.</summary>
    /// <param name="text">Text that may contain a credential.</param>
    public static string RedactText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = BearerPattern().Replace(text, "$1***");
        return KeyLikePattern().Replace(result, "***");
    }

    [GeneratedRegex(@"(Bearer\s+)[A-Za-z0-9\-_.~+/=]+", RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BearerPattern();

    [GeneratedRegex(@"\b(sk-[A-Za-z0-9_\-]{16,}|xox[baprs]-[A-Za-z0-9\-]{10,}|github_pat_[A-Za-z0-9_]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16})", RegexOptions.None, matchTimeoutMilliseconds: 1000)]
    private static partial Regex KeyLikePattern();
}
