using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Backend timeouts through the whole pipeline, on a fake clock, with the raw backend and an IChatClient backend.</summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class BackendTimeoutTests(BackendKind kind)
{
    [Test]
    public async Task ChatCompletion_BackendSilentPastFirstChunkTimeout_Gets504()
    {
        await using var backend = await FakeBackend.StartAsync();
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        backend.Handler = async c =>
        {
            reached.TrySetResult();
            await Task.Delay(Timeout.Infinite, c.RequestAborted);
        };
        var time = new FakeTimeProvider();
        await using var app = new LuthienAppFactory(
            new Dictionary<string, string?>
            {
                ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
                ["Luthien:Timeouts:FirstChunkSeconds"] = "5",
            },
            services =>
            {
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
                BackendKinds.Services(kind, backend.BaseUrl)?.Invoke(services);
            });
        using var http = app.CreateClient();

        var send = http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        await reached.Task;
        time.Advance(TimeSpan.FromSeconds(6));
        using var response = await send;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_timeout"));
    }

    [Test]
    public async Task Streaming_BackendSilentPastIdleTimeoutMidStream_ErrorEventAndNoDone()
    {
        await using var backend = await FakeBackend.StartAsync();
        var firstSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        backend.Handler = async c =>
        {
            await FakeBackend.Sse(c, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\n\n");
            firstSent.TrySetResult();
            await Task.Delay(Timeout.Infinite, c.RequestAborted);
        };
        var time = new FakeTimeProvider();
        await using var app = new LuthienAppFactory(
            new Dictionary<string, string?>
            {
                ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
                ["Luthien:Timeouts:IdleSeconds"] = "10",
            },
            services =>
            {
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
                BackendKinds.Services(kind, backend.BaseUrl)?.Invoke(services);
            });
        using var http = app.CreateClient();
        using var response = await http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
            },
            HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);

        Assert.That(await reader.ReadLineAsync(), Does.StartWith("data: {\"id\":\"c\""));
        await firstSent.Task;
        time.Advance(TimeSpan.FromSeconds(11));
        var rest = string.Empty;
        var aborted = false;
        try
        {
            rest = await reader.ReadToEndAsync();
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            aborted = true;
        }

        // Either the response was aborted, or it carries the timeout as an error event; never a clean end.
        Assert.That(aborted || rest.Contains("backend_timeout", StringComparison.Ordinal), Is.True, rest);
        Assert.That(rest, Does.Not.Contain("[DONE]"));
    }
}
