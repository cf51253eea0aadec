using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>On real Kestrel: a client that goes away cancels the backend request (the raw backend's, and an IChatClient backend's).</summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class ClientDisconnectTests(BackendKind kind)
{
    [Test]
    public async Task Streaming_ClientDisconnectsMidStream_BackendRequestIsCancelled()
    {
        await using var backend = await FakeBackend.StartAsync();
        var firstChunkSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backendSawClose = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closedAt = Stopwatch.StartNew();
        backend.Handler = async c =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[]}\n\n");
            await c.Response.Body.FlushAsync();
            firstChunkSent.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(5), c.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                backendSawClose.TrySetResult(closedAt.Elapsed);
            }
        };

        await using var app = await KestrelHost.StartAsync(
            new Dictionary<string, string?> { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString() },
            luthien => BackendKinds.Use(luthien, kind, backend.BaseUrl));
        var address = app.Address;

        // No draining on dispose: the client closes its connection at once, as a browser tab or killed process would.
        using (var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = address })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.That(response.Content.Headers.ContentType, Is.EqualTo(MediaTypeHeaderValue.Parse("text/event-stream")));
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[256];
            Assert.That(await body.ReadAsync(buffer), Is.GreaterThan(0));
            await firstChunkSent.Task;
            closedAt.Restart();
        }

        // The client is gone (its connection disposed); the backend must see its own request end.
        var finished = await Task.WhenAny(backendSawClose.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.That(finished, Is.SameAs(backendSawClose.Task), "the backend request was not cancelled");
        var latency = await backendSawClose.Task;
        TestContext.Out.WriteLine($"backend saw the close {latency.TotalMilliseconds:F0} ms after the client left");

        // CONTRACT.md: "The client disconnects: the backend request is cancelled within one second." (measured: ~15 ms)
        Assert.That(latency, Is.LessThan(TimeSpan.FromSeconds(1)));
    }
}
