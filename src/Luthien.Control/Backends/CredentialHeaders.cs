using System.Collections.Frozen;

namespace Luthien.Control;

/// <summary>
/// The names of client headers that carry credentials: never forwarded to a backend, never logged. Built once from the
/// built-in names and <see cref="HeaderOptions.Credentials"/>, then shared by every request (lookups do not allocate).
/// </summary>
internal sealed class CredentialHeaders
{
    /// <summary>Headers that carry a client's credential with the APIs and gateways clients commonly talk to.</summary>
    private static readonly string[] BuiltInNames =
    [
        "Authorization", "Proxy-Authorization", "api-key", "x-api-key", "x-goog-api-key", "x-auth-token", "Cookie", "Cookie2",
        "ocp-apim-subscription-key", "x-functions-key", "x-access-token", "x-api-token", "x-amz-security-token",
        "x-goog-iam-authorization-token", "x-csrf-token", "x-xsrf-token",
    ];

    private readonly FrozenSet<string> _names;
    private readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> _spans;

    private CredentialHeaders(IEnumerable<string> names)
    {
        _names = names.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _spans = _names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The built-in names only (requests made without the host's options, e.g. in tests or in-process).</summary>
    public static CredentialHeaders BuiltIn { get; } = new(BuiltInNames);

    /// <summary>The built-in names plus <paramref name="extra"/>.</summary>
    /// <param name="extra">Names from <see cref="HeaderOptions.Credentials"/>; blank entries are ignored.</param>
    public static CredentialHeaders Create(IEnumerable<string>? extra)
    {
        var added = extra?.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n.Trim()).ToArray() ?? [];
        return added.Length == 0 ? BuiltIn : new CredentialHeaders(BuiltInNames.Concat(added));
    }

    /// <summary>Whether a header with this name carries a credential.</summary>
    /// <param name="name">The header name.</param>
    public bool Contains(string name) => _names.Contains(name);

    /// <summary>Whether a header with this name carries a credential (no string needed).</summary>
    /// <param name="name">The header name.</param>
    public bool Contains(ReadOnlySpan<char> name) => _spans.Contains(name);
}
