using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>The backend client is the library's own: a host's HttpClient defaults and the first key seen do not shape it.</summary>
public class BackendIsolationTests
{
    private const string Answer = """{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""";

    [TestCase("Http")]
    [TestCase("Sdk")]
    public async Task ChatCompletion_HostHttpClientDefaultsAddHandlers_BackendClientDoesNotUseThem(string client)
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = c => FakeBackend.Json(c, 200, Answer);
        var hostHandler = new CountingHandler();

        // What the service-defaults template does (resilience, retries): applies to every IHttpClientFactory client.
        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(), ["Luthien:Backend:Client"] = client },
            services: s => s.ConfigureHttpClientDefaults(b => b.AddHttpMessageHandler(() => hostHandler)));
        using var http = host.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", Json("""{"model":"m","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(backend.Requests, Has.Count.EqualTo(1));
        Assert.That(hostHandler.Calls, Is.Zero, "the host's HttpClient defaults reached the backend client");
    }

    [Test]
    public async Task ChatCompletion_SdkClientKeyChangesBetweenRequests_EachRequestUsesItsOwnKey()
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = c => FakeBackend.Json(c, 200, Answer);
        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(), ["Luthien:Backend:Client"] = "Sdk" },
            builder => builder.UsePolicy(sp => new SerialPolicy([new KeyFromHeaderPolicy(), new SendBackendRequestPolicy(sp.GetRequiredService<IBackendClient>())])));
        using var http = host.CreateClient();

        foreach (var key in new[] { "key-a", "key-b", "key-a" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Json("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""") };
            request.Headers.Add("x-test-backend-key", key);
            using var response = await http.SendAsync(request);
            Assert.That((int)response.StatusCode, Is.EqualTo(200));
        }

        Assert.That(backend.Requests.Select(r => r.Headers["Authorization"]), Is.EqualTo(new[] { "Bearer key-a", "Bearer key-b", "Bearer key-a" }));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Picks the backend key per request, as a branch of a policy file or a rotated key would.</summary>
    private sealed class KeyFromHeaderPolicy : ControlPolicy
    {
        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
        {
            transaction.Request.BackendApiKey = transaction.Request.Headers["x-test-backend-key"].ToString();
            return next(transaction, cancellationToken);
        }
    }

    private sealed class CountingHandler : DelegatingHandler
    {
        private int _calls;

        public int Calls => _calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
