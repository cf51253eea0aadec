using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>A host app of its own (not the sample) on the test server: the two calls, plus what a test configures.</summary>
internal sealed class LuthienTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LuthienTestHost(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    public static async Task<LuthienTestHost> StartAsync(
        Dictionary<string, string?> settings, Action<LuthienControlBuilder>? configure = null, Action<IServiceCollection>? services = null,
        Action<WebApplication>? middleware = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        var luthien = builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));
        configure?.Invoke(luthien);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        middleware?.Invoke(app);
        app.MapLuthienControl("/v1");
        await app.StartAsync();
        return new LuthienTestHost(app);
    }

    public HttpClient CreateClient() => _app.GetTestClient();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
