using System.Net;
using Luthien.Control.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>
/// A host app with the admin area at <c>/admin</c> and a real SQLite store in a temporary file (on the test server, or
/// on real Kestrel at 127.0.0.1 for a browser); the login is <see cref="User"/> / <see cref="Password"/>.
/// </summary>
internal sealed class AdminApp : IAsyncDisposable
{
    public const string User = "admin";
    public const string Password = "correct horse battery staple";

    private readonly WebApplication _app;

    private AdminApp(WebApplication app, string directory, FakeTimeProvider time)
    {
        _app = app;
        Directory = directory;
        Time = time;
    }

    /// <summary>The temporary directory holding the database and the Data Protection keys.</summary>
    public string Directory { get; }

    /// <summary>The database file.</summary>
    public string DatabaseFile => Path.Combine(Directory, "luthien.db");

    /// <summary>The app's clock.</summary>
    public FakeTimeProvider Time { get; }

    /// <summary>The store, when the audit log is on.</summary>
    public IControlStore Store => _app.Services.GetRequiredService<ControlStores>().Store!;

    /// <summary>The address on Kestrel (not on the test server).</summary>
    public Uri? Address { get; private set; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts the app.</summary>
    /// <param name="settings">Settings over the defaults (a <see langword="null"/> value removes one).</param>
    /// <param name="kestrel">Listen on 127.0.0.1 instead of the test server.</param>
    public static async Task<AdminApp> StartAsync(Dictionary<string, string?>? settings = null, bool kestrel = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "luthien-admin-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var all = new Dictionary<string, string?>
        {
            ["Luthien:Admin:Password"] = Password,
            ["Luthien:TransactionLog:Provider"] = "Sqlite",
            ["Luthien:TransactionLog:ConnectionString"] = $"Data Source={Path.Combine(directory, "luthien.db")}",

            // The clock is fake here: a batch's wait for more records would last until a test moved it.
            ["Luthien:TransactionLog:BatchDelayMilliseconds"] = "0",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var builder = WebApplication.CreateSlimBuilder();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(all.Where(p => p.Value is not null));
        // Starts now: the test client's cookie jar drops cookies that expired by the real clock.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(directory, "keys")));
        builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien")).AddSqliteStore();
        var app = builder.Build();
        app.MapLuthienAdmin("/admin");
        await app.StartAsync();
        var admin = new AdminApp(app, directory, time);
        if (kestrel)
        {
            admin.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }

        return admin;
    }

    /// <summary>Changes a setting while the app runs (as an edited appsettings.json would).</summary>
    public void Configure(string key, string? value)
    {
        _app.Configuration[key] = value;
        ((IConfigurationRoot)_app.Configuration).Reload();
    }

    /// <summary>A client that keeps cookies (a browser without script), redirects not followed.</summary>
    /// <param name="https">Address the app as https://localhost.</param>
    public AdminClient CreateClient(bool https = false)
    {
        var cookies = new CookieContainerHandler { InnerHandler = _app.GetTestServer().CreateHandler() };
        var http = new HttpClient(cookies) { BaseAddress = new Uri(https ? "https://localhost" : "http://localhost") };
        return new AdminClient(http, cookies.Container);
    }

    /// <summary>A client that keeps no cookies.</summary>
    public HttpClient CreateBareClient() => _app.GetTestClient();

    /// <summary>Writes a transaction's rows as the log writer would.</summary>
    public Task WriteAsync(params TransactionLogRow[] rows) => Store.WriteAsync(rows, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held; the temporary directory is cleaned by the system.
        }
    }
}
