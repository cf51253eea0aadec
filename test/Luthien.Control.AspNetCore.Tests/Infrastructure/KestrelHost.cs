using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A host app on real Kestrel (127.0.0.1, a free port) with the two calls, for tests whose behaviour is the socket's.
/// Not <c>WebApplicationFactory.UseKestrel</c>: with a minimal-hosting entry point it races the app's own start
/// ("Addresses cannot be modified after the server has started"), which made such tests fail now and then.
/// </summary>
internal sealed class KestrelHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<KestrelHost> StartAsync(
        IReadOnlyDictionary<string, string?> settings, Action<LuthienControlBuilder>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        var luthien = builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));
        configure?.Invoke(luthien);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapLuthienControl("/v1");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new KestrelHost(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
