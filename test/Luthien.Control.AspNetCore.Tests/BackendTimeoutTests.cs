using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Backend timeouts through the whole pipeline, on a fake clock.</summary>
public class BackendTimeoutTests
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
            services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time)));
        using var http = app.CreateClient();

        var send = http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        await reached.Task;
        time.Advance(TimeSpan.FromSeconds(6));
        using var response = await send;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("backend_timeout"));
    }
}
