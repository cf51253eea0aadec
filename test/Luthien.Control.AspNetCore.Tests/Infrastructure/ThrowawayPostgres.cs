using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL cluster of one test's own, in a temp folder, on a free loopback port — one the test may stop and start
/// (an outage) without touching the server other test projects share. Made with the binaries <c>.ci/run</c> names
/// (<c>LUTHIEN_PG_BIN</c>, run as <c>LUTHIEN_PG_USER</c>: initdb and pg_ctl refuse root).
/// </summary>
internal sealed class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _user;
    private readonly string _folder;

    private ThrowawayPostgres(string bin, string user, string folder, int port)
    {
        _bin = bin;
        _user = user;
        _folder = folder;
        Port = port;
    }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>Npgsql's connection string for it.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=luthien;Database=postgres;Timeout=3";

    private string Data => Path.Combine(_folder, "data");

    private string Log => Path.Combine(_folder, "server.log");

    /// <summary>Makes and starts a cluster; the test is ignored where there are no PostgreSQL binaries (CI has them).</summary>
    public static async Task<ThrowawayPostgres> StartAsync()
    {
        var bin = Environment.GetEnvironmentVariable("LUTHIEN_PG_BIN");
        var user = Environment.GetEnvironmentVariable("LUTHIEN_PG_USER");
        if (string.IsNullOrEmpty(bin) || string.IsNullOrEmpty(user))
        {
            Assert.Ignore("LUTHIEN_PG_BIN / LUTHIEN_PG_USER are not set: .ci/run sets them when it starts PostgreSQL for the tests.");
        }

        var folder = Directory.CreateTempSubdirectory("luthien-pg-").FullName;
        await RunAsync("chown", user!, folder);
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var postgres = new ThrowawayPostgres(bin!, user!, folder, port);
        await postgres.AsUserAsync(Path.Combine(bin!, "initdb"), "-D", postgres.Data, "-U", "luthien", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8");
        await File.AppendAllTextAsync(Path.Combine(postgres.Data, "postgresql.auto.conf"),
            $"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{folder}'\nfsync = off\n");
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Stops the server (fast shutdown: connections are cut).</summary>
    public Task StopAsync() => AsUserAsync(Path.Combine(_bin, "pg_ctl"), "stop", "-D", Data, "-m", "fast", "-w");

    /// <summary>Starts the server again.</summary>
    public Task StartAgainAsync() => AsUserAsync(Path.Combine(_bin, "pg_ctl"), "start", "-D", Data, "-l", Log, "-w", "-t", "60");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsUserAsync(Path.Combine(_bin, "pg_ctl"), "stop", "-D", Data, "-m", "immediate");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        Directory.Delete(_folder, recursive: true);
    }

    private Task AsUserAsync(string program, params string[] arguments) =>
        Environment.UserName == "root" ? RunAsync("runuser", ["-u", _user, "--", program, .. arguments]) : RunAsync(program, arguments);

    private static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output} {await error}");
        }
    }
}
