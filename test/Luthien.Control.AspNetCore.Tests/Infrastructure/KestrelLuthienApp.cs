using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A host app on real Kestrel (127.0.0.1, a free port) in front of a <see cref="FakeBackend"/>, with the contract's
/// request-side chain (client key <c>client-key-1</c>, leaked-key detection, logging) and every log message kept.
/// </summary>
internal sealed class KestrelLuthienApp : IAsyncDisposable
{
    private readonly KestrelHost _host;
    private readonly string _policyFile;

    private KestrelLuthienApp(FakeBackend backend, KestrelHost host, string policyFile, Uri address, ListLoggerProvider logs)
    {
        Backend = backend;
        _host = host;
        _policyFile = policyFile;
        Address = address;
        Logs = logs;
    }

    public FakeBackend Backend { get; }

    public Uri Address { get; }

    public ListLoggerProvider Logs { get; }

    public static async Task<KestrelLuthienApp> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var backend = await FakeBackend.StartAsync();
        var policyFile = PolicyFiles.Write(PolicyFiles.RequestSideChain);
        var all = new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:PolicyFile"] = policyFile,
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var logs = new ListLoggerProvider();
        var host = await KestrelHost.StartAsync(all, services: services => services.AddSingleton<ILoggerProvider>(logs));
        return new KestrelLuthienApp(backend, host, policyFile, host.Address, logs);
    }

    /// <summary>Sends a raw request with the right client key; <paramref name="requestLine"/> e.g. <c>GET /v1/models HTTP/1.1</c>.</summary>
    public Task<RawResponse> SendAsync(string requestLine, string? body = null, params string[] headers) =>
        RawHttp.SendAsync(Address, string.Join("\r\n", [requestLine, "Authorization: Bearer client-key-1", .. headers]), body);

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await Backend.DisposeAsync();
        File.Delete(_policyFile);
    }
}
