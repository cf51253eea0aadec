using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>An OpenAI-compatible backend on loopback that serves whatever a test tells it to, and records every request.</summary>
internal sealed class FakeBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeBackend(WebApplication app) => _app = app;

    /// <summary>Answers each request; replace it per test.</summary>
    public Func<HttpContext, Task> Handler { get; set; } = context => Json(context, 200, """{"ok":true}""");

    /// <summary>What the backend received.</summary>
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>The base URL with its version segment, e.g. <c>http://127.0.0.1:1234/v1</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<FakeBackend> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var backend = new FakeBackend(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var recorded = new RecordedRequest(
                context.Request.Method,
                context.Request.Path + context.Request.QueryString,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body);
            backend.Requests.Enqueue(recorded);
            context.Items[typeof(RecordedRequest)] = recorded;
            await backend.Handler(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return backend;
    }

    public static async Task Json(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    /// <summary>Writes raw SSE text in pieces, flushing after each.</summary>
    public static async Task Sse(HttpContext context, params string[] pieces)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        foreach (var piece in pieces)
        {
            await context.Response.WriteAsync(piece);
            await context.Response.Body.FlushAsync();
        }
    }

    public void Reset()
    {
        Requests.Clear();
        Handler = context => Json(context, 200, """{"ok":true}""");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The request a handler is answering (its body has been read already).</summary>
    public static RecordedRequest Of(HttpContext context) => (RecordedRequest)context.Items[typeof(RecordedRequest)]!;
}
