using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.Readme.Tests;

/// <summary>An OpenAI-compatible backend on a free loopback port: a streamed chat answer of the given words, each flushed.</summary>
internal sealed class LoopbackBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackBackend(WebApplication app) => _app = app;

    /// <summary>The request bodies it received.</summary>
    public ConcurrentQueue<string> Bodies { get; } = new();

    /// <summary>Base URL with its version segment, as <c>Luthien:Backend:BaseUrl</c> takes it.</summary>
    public string BaseUrl { get; private set; } = "";

    public static async Task<LoopbackBackend> StartAsync(params string[] words)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var backend = new LoopbackBackend(app);
        app.MapPost("/v1/chat/completions", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            backend.Bodies.Enqueue(await reader.ReadToEndAsync(context.RequestAborted));
            context.Response.ContentType = "text/event-stream";
            const string head = "\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\"";
            var events = words
                .Select(w => $"{{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{w}\"}},\"finish_reason\":null}}]}}")
                .Append($"{{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}")
                .Append("[DONE]");
            foreach (var data in events)
            {
                await context.Response.WriteAsync($"data: {data}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.BaseUrl = address.TrimEnd('/') + "/v1";
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
