using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// What a misbehaving backend or client can do to a stream: flood it, stall it, break it, keep it alive with comments;
/// and what the library must not add to or lose from it (usage). Socket behaviour is tested on real Kestrel.
/// </summary>
public class StreamHardeningTests
{
    private const string Head = "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"";
    private const string StreamRequest = """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    private static string Content(string text, string extra = "") =>
        $"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]{extra}}}\n\n";

    [Test]
    public async Task Streaming_ClientPausesWhileBackendFloods_BackendIsReadOnlyAsFastAsTheClient()
    {
        // A backend that always has the next event ready (every read completes at once), in front of a client on a real
        // socket that reads one piece and then nothing for 3 s.
        var backend = new FloodingBackend(512L * 1024 * 1024);
        await using var app = await KestrelHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Luthien:Backend:BaseUrl"] = "http://flood.invalid/v1",
                ["Luthien:Limits:MaxPendingBytes"] = "1048576",
            },
            luthien => luthien.UseBackendHandler(_ => backend));
        var address = app.Address;
        using var http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = address };
        using var response = await http.SendAsync(Post(StreamRequest), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        Assert.That(await body.ReadAsync(new byte[1024]), Is.GreaterThan(0));

        await Task.Delay(TimeSpan.FromSeconds(3));
        var servedWhilePaused = backend.Served;
        TestContext.Out.WriteLine($"the proxy read {servedWhilePaused / 1024.0 / 1024:F1} MiB from the backend while the client paused");

        // What the proxy may read ahead is its pending bound plus the socket buffers to the client, not the answer.
        Assert.That(servedWhilePaused, Is.LessThan(32L * 1024 * 1024));

        // The client leaves (so the server does not wait for this stream when it stops).
        await body.DisposeAsync();
        response.Dispose();
        http.Dispose();
    }

    [Test]
    public async Task Streaming_BackendDiesMidStream_ClientGetsTheErrorEventBeforeTheAbort()
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = async c =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.WriteAsync(Content("partial"));
            await c.Response.Body.FlushAsync();
            await Task.Delay(50);
            c.Abort();
        };
        await using var app = await StartOnKestrelAsync(backend);
        var address = app.Address;

        var delivered = 0;
        const int Runs = 10;
        for (var i = 0; i < Runs; i++)
        {
            using var http = new HttpClient { BaseAddress = address };
            using var response = await http.SendAsync(Post(StreamRequest), HttpCompletionOption.ResponseHeadersRead);
            var (text, aborted) = await ResponseReading.ReadToEndOrAbortAsync(response);
            Assert.That(aborted, Is.True, "a broken stream must not end like a complete one");
            Assert.That(text, Does.Not.Contain("[DONE]"));
            if (text.Contains("\"code\":\"backend_unavailable\"", StringComparison.Ordinal))
            {
                delivered++;
            }
        }

        Assert.That(delivered, Is.EqualTo(Runs), "runs whose client received the error event");
    }

    [Test]
    public async Task Streaming_KeepAlivesLongerThanIdleTimeout_StreamCompletes()
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = async c =>
        {
            c.Response.ContentType = "text/event-stream";
            await c.Response.WriteAsync(Content("thinking"));
            await c.Response.Body.FlushAsync();
            for (var i = 0; i < 8; i++)
            {
                await Task.Delay(300);
                await c.Response.WriteAsync(": keep-alive\n\n");
                await c.Response.Body.FlushAsync();
            }

            await c.Response.WriteAsync(Content("done") + "data: [DONE]\n\n");
        };
        await using var app = await StartOnKestrelAsync(backend, new() { ["Luthien:Timeouts:IdleSeconds"] = "1" });
        var address = app.Address;
        using var http = new HttpClient { BaseAddress = address };

        using var response = await http.SendAsync(Post(StreamRequest), HttpCompletionOption.ResponseHeadersRead);
        var (text, aborted) = await ResponseReading.ReadToEndOrAbortAsync(response);

        Assert.That(aborted, Is.False);
        Assert.That(text, Does.EndWith("data: [DONE]\n\n"));
    }

    [Test]
    public async Task Passthrough_BackendSilentAfterHeaders_Returns504AfterIdleTimeout()
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = async c =>
        {
            c.Response.ContentType = "application/json";
            await c.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromMinutes(5), c.RequestAborted);
        };
        await using var app = await StartOnKestrelAsync(backend, new() { ["Luthien:Timeouts:IdleSeconds"] = "1" });
        var address = app.Address;
        using var http = new HttpClient { BaseAddress = address };
        var clock = Stopwatch.StartNew();

        var get = http.GetAsync("/v1/models");
        var finished = await Task.WhenAny(get, Task.Delay(TimeSpan.FromSeconds(20)));

        Assert.That(finished, Is.SameAs(get), "the pass-through answer stayed open past the idle timeout");
        using var response = await get;
        TestContext.Out.WriteLine($"ended after {clock.Elapsed.TotalSeconds:F1} s");

        // Nothing had been sent to the client yet, so the silence is still a proper HTTP error.
        Assert.That((int)response.StatusCode, Is.EqualTo(504));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_timeout"));
    }

    [Test]
    public async Task Streaming_LibraryAskedForUsage_ChunksComeWithoutTheAddedUsageNull()
    {
        await using var backend = await FakeBackend.StartAsync();

        // Like OpenAI: with include_usage every chunk carries "usage":null, and a last chunk carries the usage.
        backend.Handler = c => FakeBackend.Sse(
            c,
            Content("Hello", ",\"usage\":null"),
            Content(" world", ",\"usage\":null"),
            $"data: {{{Head},\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}}}\n\n",
            "data: [DONE]\n\n");
        await using var app = new LuthienAppFactory(new Dictionary<string, string?> { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString() });
        var http = app.CreateClient();

        using var response = await http.SendAsync(Post(StreamRequest));
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(JsonNode.Parse(backend.Requests.Last().Body)!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True, "the library asked");
        Assert.That(text, Is.EqualTo(Content("Hello") + Content(" world") + "data: [DONE]\n\n"), "exactly what the client would have got had the library not asked");
    }

    [Test]
    public async Task Streaming_PolicyBlocksAndClientAskedForUsage_UsageChunkArrivesBeforeDone()
    {
        await using var backend = await FakeBackend.StartAsync();
        var usage = $"data: {{{Head},\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}}}\n\n";
        backend.Handler = c => FakeBackend.Sse(c, Content("Hello ", ",\"usage\":null"), Content("forbidden", ",\"usage\":null"), Content(" more text", ",\"usage\":null"), usage, "data: [DONE]\n\n");
        var policy = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ResponseContentPolicy", "config": { "patterns": ["forbidden"], "action": "block" } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);
        await using var app = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = policy,
        });
        var http = app.CreateClient();

        using var response = await http.SendAsync(Post("""{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"""));
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(text, Does.Contain("\"finish_reason\":\"content_filter\""));
        Assert.That(text, Does.Not.Contain("forbidden").And.Not.Contain("more text"));
        Assert.That(text, Does.EndWith(usage + "data: [DONE]\n\n"));
    }

    private static HttpRequestMessage Post(string json) =>
        new(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private static Task<KestrelHost> StartOnKestrelAsync(FakeBackend backend, Dictionary<string, string?>? settings = null)
    {
        settings ??= [];
        settings["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString();
        return KestrelHost.StartAsync(settings);
    }

    /// <summary>Serves a stream of chat chunks up to a length, each read completing at once; counts what was read.</summary>
    private sealed class FloodingBackend(long length) : HttpMessageHandler
    {
        private long _served;

        public long Served => Interlocked.Read(ref _served);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new StreamContent(new EventSource(this, length));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = content });
        }

        private sealed class EventSource(FloodingBackend owner, long length) : Stream
        {
            private static readonly byte[] Block = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(Content("flood-flood-flood"), 64)));
            private long _position;

            public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

            public override int Read(Span<byte> buffer)
            {
                var left = length - _position;
                if (left <= 0)
                {
                    return 0;
                }

                var at = (int)(_position % Block.Length);
                var n = (int)Math.Min(Math.Min(buffer.Length, Block.Length - at), left);
                Block.AsSpan(at, n).CopyTo(buffer);
                _position += n;
                Interlocked.Add(ref owner._served, n);
                return n;
            }

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
                ValueTask.FromResult(Read(buffer.Span));

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                Task.FromResult(Read(buffer.AsSpan(offset, count)));

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
