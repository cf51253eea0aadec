using Microsoft.Extensions.Primitives;

namespace Luthien.Control;

/// <summary>Which headers a proxy must not forward.</summary>
internal static class ProxyHeaders
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Expect", "Alt-Svc", "Content-Length",

        // Not hop-by-hop, but never passed either way: a backend's cookie would tie clients to the backend's session
        // (and reach a browser on the proxy's origin).
        "Set-Cookie", "Set-Cookie2",
    };

    private static readonly HashSet<string> RequestOverrides = new(StringComparer.OrdinalIgnoreCase)
    {
        // Headers some servers and frameworks read as the request's real path or method, or as who sent it: from a
        // client they would let it speak past the route the library policed, or pose as someone else to the backend.
        "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Forwarded-Port",
        "X-Real-IP",
    };

    /// <summary>
    /// Whether a client header would override the request's path or method, or its sender, at the backend
    /// (<c>X-Original-URL</c>, <c>X-HTTP-Method-Override</c>, <c>X-Forwarded-*</c>, …): never forwarded.
    /// </summary>
    /// <param name="name">The header name.</param>
    internal static bool IsRequestOverride(string name) => RequestOverrides.Contains(name);

    /// <summary>
    /// Whether a header is never forwarded in either direction: it is about one connection only, is recomputed
    /// (Content-Length), or is a backend's cookie (Set-Cookie).
    /// </summary>
    /// <param name="name">The header name.</param>
    public static bool IsHopByHop(string name) => HopByHop.Contains(name) || name.StartsWith(':');

    /// <summary>
    /// Whether a client request header is forwarded to the backend: the built-in credentials (<c>Authorization</c>,
    /// <c>api-key</c>, <c>x-goog-api-key</c>, <c>Cookie</c>, …) and hop-by-hop headers are not.
    /// </summary>
    /// <param name="name">The header name.</param>
    public static bool IsForwardedToBackend(string name) => !IsHopByHop(name) && !CredentialHeaders.BuiltIn.Contains(name);

    /// <summary>
    /// Whether <paramref name="name"/> is one of the comma-separated tokens of a <c>Connection</c> header value: such a
    /// header belongs to that one connection (RFC 9110, 7.6.1) and is not forwarded.
    /// </summary>
    /// <param name="connection">One value of the <c>Connection</c> header.</param>
    /// <param name="name">A header name.</param>
    internal static bool IsNominated(ReadOnlySpan<char> connection, string name)
    {
        foreach (var range in connection.Split(','))
        {
            if (connection[range].Trim(" \t").Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any value of a <c>Connection</c> header nominates <paramref name="name"/>.</summary>
    /// <param name="connection">The <c>Connection</c> header's values (none when the header is absent).</param>
    /// <param name="name">A header name.</param>
    internal static bool IsNominated(StringValues connection, string name)
    {
        foreach (var value in connection)
        {
            if (value is not null && IsNominated(value.AsSpan(), name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a header value can be sent as it is: printable ASCII and tab only. Anything else would make the
    /// backend client throw (a 502 for what is the client's mistake) or be read differently by the backend.
    /// </summary>
    /// <param name="value">A header value.</param>
    internal static bool IsSendableValue(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (c is (< ' ' and not '\t') or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
