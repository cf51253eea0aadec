namespace Luthien.Control.Backends;

/// <summary>Which headers a proxy must not forward.</summary>
public static class ProxyHeaders
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Host", "Expect", "Alt-Svc", "Content-Length",
    };

    private static readonly HashSet<string> ClientCredentials = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "api-key", "x-api-key", "Cookie", "ocp-apim-subscription-key",
    };

    /// <summary>Whether a header is about one connection only (and so is never forwarded), or is recomputed (Content-Length).</summary>
    /// <param name="name">The header name.</param>
    public static bool IsHopByHop(string name) => HopByHop.Contains(name) || name.StartsWith(':');

    /// <summary>Whether a client request header is forwarded to the backend: credentials and hop-by-hop headers are not.</summary>
    /// <param name="name">The header name.</param>
    public static bool IsForwardedToBackend(string name) => !IsHopByHop(name) && !ClientCredentials.Contains(name);
}
