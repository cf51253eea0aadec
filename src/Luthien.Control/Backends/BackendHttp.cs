using System.Net;

namespace Luthien.Control;

/// <summary>
/// The library's own HTTP client for the backend, not one from <c>IHttpClientFactory</c>: a host's
/// <c>ConfigureHttpClientDefaults</c> (retries, resilience handlers, logging) applies to every factory client and would
/// make one chat request reach the backend several times. Like YARP's forwarder client: no redirects, no cookies, no
/// automatic decompression, no overall timeout (the library's own timeouts apply).
/// </summary>
internal sealed class BackendHttp : IDisposable
{
    /// <summary>Uses the handler a host chose (e.g. an in-process backend), else the library's own.</summary>
    /// <param name="handler">The handler, or <see langword="null"/> for the default.</param>
    public BackendHttp(HttpMessageHandler? handler = null) =>
        Client = new HttpClient(handler ?? CreateDefaultHandler(), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>The client; shared by every request (its connection pool is the point).</summary>
    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();

    private static SocketsHttpHandler CreateDefaultHandler() => new()
    {
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        UseProxy = false,
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        EnableMultipleHttp2Connections = true,
    };
}

/// <summary>A host's replacement for the backend's primary handler (see <c>LuthienControlBuilder.UseBackendHandler</c>).</summary>
internal sealed record BackendHandlerFactory(Func<IServiceProvider, HttpMessageHandler> Create);
