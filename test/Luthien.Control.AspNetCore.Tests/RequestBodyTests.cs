using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// Request bodies a client can send to hurt the proxy: bad JSON is a 400 (never a 500), and a declared length decides
/// nothing about memory. The JSON cases run in the test server; the socket cases need Kestrel and a raw socket, because
/// a declared length with a body that trickles in is the transport's behaviour.
/// </summary>
public class RequestBodyTests
{
    private const int DeclaredBytes = 10 * 1024 * 1024;

    private FakeBackend _backend = null!;
    private LuthienAppFactory _app = null!;
    private string _policyFile = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _policyFile = PolicyFiles.Write(PolicyFiles.RequestSideChain);
        _app = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = _policyFile,
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
        File.Delete(_policyFile);
    }

    [SetUp]
    public void ResetBackend() => _backend.Reset();

    [Test]
    public async Task Chat_InvalidUtf8InMessage_Gets400AndBackendIsNotCalled()
    {
        byte[] body = [.. """{"model":"gpt-4o","messages":[{"role":"user","content":"hi """u8, 0xFF, 0xFE, .. "\"}]}"u8];

        using var response = await PostAsync(body);

        await AssertInvalidRequestAsync(response);
    }

    [Test]
    public async Task Chat_UnpairedSurrogateEscape_Gets400AndBackendIsNotCalled()
    {
        using var response = await PostAsync("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi \ud800"}]}"""u8.ToArray());

        await AssertInvalidRequestAsync(response);
    }

    [Test]
    public async Task Chat_DuplicateTopLevelKey_Gets400AndBackendIsNotCalled()
    {
        using var response = await PostAsync("""{"model":"gpt-4o","model":"fast","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray());

        await AssertInvalidRequestAsync(response);
    }

    [Test]
    public async Task Chat_DuplicateNestedKey_Gets400AndBackendIsNotCalled()
    {
        using var response = await PostAsync("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi","content":"sk-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"}]}"""u8.ToArray());

        await AssertInvalidRequestAsync(response);
    }

    [Test]
    public async Task Chat_NestedDeeperThanLibraryReads_Gets400AndBackendIsNotCalled()
    {
        var body = """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x":""" + new string('[', 100) + new string(']', 100) + "}";

        using var response = await PostAsync(Encoding.UTF8.GetBytes(body));

        await AssertInvalidRequestAsync(response);
    }

    [Test]
    public async Task Chat_DeclaredLengthOverLimit_Gets413WithoutTheBodyBeingSent()
    {
        await using var server = await KestrelLuthien.StartAsync(_backend.BaseUrl);
        using var client = await server.ConnectAsync();
        var stream = client.GetStream();

        // Only the head: were the body awaited, no answer would come.
        await stream.WriteAsync(Head(11 * 1024 * 1024));
        var answer = await ReadHeadAsync(stream);

        Assert.That(answer, Does.StartWith("HTTP/1.1 413"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Chat_ManyUploadsDeclaringTenMiBSendingOneKiB_AllocateFarLessThanDeclared()
    {
        await using var server = await KestrelLuthien.StartAsync(_backend.BaseUrl);
        const int uploads = 20;
        var clients = new List<TcpClient>();
        var before = GC.GetTotalAllocatedBytes(precise: true);

        for (var i = 0; i < uploads; i++)
        {
            var client = await server.ConnectAsync();
            clients.Add(client);
            byte[] partial = [.. Head(DeclaredBytes), .. Enumerable.Repeat((byte)' ', 1024)];
            await client.GetStream().WriteAsync(partial);
        }

        // Every request is being read (its first KiB is in), then every client gives up: each request ends.
        await server.WaitUntilReadingAsync(uploads);
        foreach (var client in clients)
        {
            client.Dispose();
        }

        await server.WaitUntilCompletedAsync(uploads);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Out.WriteLine($"{allocated / 1024} KiB allocated for {uploads} uploads");

        Assert.That(allocated, Is.LessThan(uploads * (long)DeclaredBytes / 10), $"{allocated / 1024} KiB allocated for {uploads} uploads of 1 KiB");
        Assert.That(_backend.Requests, Is.Empty);
    }

    private static byte[] Head(long contentLength) => Encoding.ASCII.GetBytes(
        $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer client-key-1\r\nContent-Length: {contentLength}\r\n\r\n");

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    private async Task<HttpResponseMessage> PostAsync(byte[] body)
    {
        using var http = _app.CreateClient();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.Add("Authorization", "Bearer client-key-1");
        return await http.SendAsync(request);
    }

    private async Task AssertInvalidRequestAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("invalid_request"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    /// <summary>The library mapped into an app on Kestrel (loopback, port 0), counting requests that began and ended.</summary>
    private sealed class KestrelLuthien : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _reading;
        private int _completed;

        private KestrelLuthien(WebApplication app) => _app = app;

        public Uri Address { get; private set; } = null!;

        public static async Task<KestrelLuthien> StartAsync(Uri backend)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Luthien:Backend:BaseUrl"] = backend.ToString() });
            builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));
            var app = builder.Build();
            var server = new KestrelLuthien(app);
            app.Use(async (context, next) =>
            {
                // Past its head, a request goes to the library, which reads its body.
                Interlocked.Increment(ref server._reading);
                try
                {
                    await next(context);
                }
                finally
                {
                    Interlocked.Increment(ref server._completed);
                }
            });
            app.MapLuthienControl("/v1");
            await app.StartAsync();
            server.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return server;
        }

        public async Task<TcpClient> ConnectAsync()
        {
            var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Address.Port);
            return client;
        }

        public Task WaitUntilReadingAsync(int count) => WaitAsync(() => Volatile.Read(ref _reading) >= count);

        public Task WaitUntilCompletedAsync(int count) => WaitAsync(() => Volatile.Read(ref _completed) >= count);

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private static async Task WaitAsync(Func<bool> done)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!done())
            {
                if (DateTime.UtcNow > deadline)
                {
                    Assert.Fail("The server did not get that far in time.");
                }

                await Task.Delay(10);
            }
        }
    }
}
