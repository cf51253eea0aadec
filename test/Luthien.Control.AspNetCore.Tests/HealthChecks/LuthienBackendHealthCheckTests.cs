using System.Net;
using System.Net.Sockets;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NSubstitute;

namespace Luthien.Control.AspNetCore.Tests.HealthChecks;

/// <summary><c>AddLuthienBackend</c> against a real fake backend on loopback: what it asks, and what each answer means.</summary>
[NonParallelizable]
public class LuthienBackendHealthCheckTests
{
    private const string BackendKey = "sk-backend-secret-key-0123456789";

    private FakeBackend _backend = null!;

    [OneTimeSetUp]
    public async Task StartBackend() => _backend = await FakeBackend.StartAsync();

    [OneTimeTearDown]
    public async Task StopBackend() => await _backend.DisposeAsync();

    [SetUp]
    public void ResetBackend() => _backend.Reset();

    [Test]
    public async Task AddLuthienBackend_BackendAnswers200_HealthyAfterGetModelsWithTheBackendsKey()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"object":"list","data":[]}""");

        var report = await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl);

        var entry = report.Entries["luthien-backend"];
        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        var request = _backend.Requests.Single();
        Assert.That((request.Method, request.PathAndQuery), Is.EqualTo(("GET", "/v1/models")));
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer " + BackendKey));
    }

    [TestCase(401)]
    [TestCase(403)]
    public async Task AddLuthienBackend_CredentialsRefused_DegradedNamingTheSettingNotTheKey(int status)
    {
        _backend.Handler = c => FakeBackend.Json(c, status, "{\"error\":{\"message\":\"Incorrect API key provided: " + BackendKey + "\",\"code\":\"invalid_api_key\"}}");

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl)).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(entry.Description, Does.Contain($"({status})").And.Contain("Luthien:Backend:ApiKey").And.Not.Contain(BackendKey));
        Assert.That(entry.Data["status_code"], Is.EqualTo(status));
        Assert.That(entry.Exception, Is.Null);
    }

    [Test]
    public async Task AddLuthienBackend_RateLimited_Degraded()
    {
        _backend.Handler = c => FakeBackend.Json(c, 429, """{"error":{"message":"slow down"}}""");

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl)).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(entry.Description, Does.Contain("429").And.Contain("rate limit"));
    }

    [Test]
    public async Task AddLuthienBackend_NotFound_DegradedNamingTheBaseUrl()
    {
        _backend.Handler = c => FakeBackend.Json(c, 404, """{"error":{"message":"no such route"}}""");

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl)).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(entry.Description, Does.Contain("404").And.Contain("Luthien:Backend:BaseUrl"));
    }

    [TestCase(500)]
    [TestCase(503)]
    public async Task AddLuthienBackend_ServerError_Unhealthy(int status)
    {
        _backend.Handler = c => FakeBackend.Json(c, status, """{"error":{"message":"down"}}""");

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl)).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain(status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task AddLuthienBackend_ServerErrorWithDegradedFailureStatus_ReportsTheRegistrationsStatus()
    {
        _backend.Handler = c => FakeBackend.Json(c, 503, "{}");

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl, h => h.AddLuthienBackend(failureStatus: HealthStatus.Degraded))).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Degraded));
    }

    [Test]
    public async Task AddLuthienBackend_Redirect_UnhealthyAndNotFollowed()
    {
        _backend.Handler = c =>
        {
            c.Response.StatusCode = 302;
            c.Response.Headers.Location = "http://127.0.0.1:9/elsewhere";
            return Task.CompletedTask;
        };

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl)).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain("redirect"));
        Assert.That(_backend.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task AddLuthienBackend_NothingListens_UnhealthySayingItCannotBeReached()
    {
        var entry = (await CheckAsync(o => o.Backend.BaseUrl = new Uri($"http://127.0.0.1:{ClosedPort()}/v1"))).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain("could not be reached").And.Contain("ConnectionError"));
        Assert.That(entry.Data["probed"], Is.True);
    }

    [Test]
    public async Task AddLuthienBackend_BackendSilent_UnhealthyWithinTheTimeout()
    {
        _backend.Handler = c => Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl, h => h.AddLuthienBackend(timeout: TimeSpan.FromMilliseconds(300)))).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain("within 0.3 s"));
        Assert.That(started.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task CheckHealthAsync_CallerCancels_Throws()
    {
        _backend.Handler = c => Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
        await using var services = BuildServices(o => o.Backend.BaseUrl = _backend.BaseUrl, h => h.AddLuthienBackend(timeout: TimeSpan.FromSeconds(30)));
        var check = services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Single();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        Assert.That(async () => await check.Factory(services).CheckHealthAsync(new HealthCheckContext { Registration = check }, cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task AddLuthienBackend_NoBaseUrl_UnhealthyNamingTheSetting()
    {
        var entry = (await CheckAsync(_ => { })).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(entry.Description, Does.Contain("Luthien:Backend:BaseUrl"));
    }

    [Test]
    public async Task AddLuthienBackend_SdkClient_ProbesTheSameBackend()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"object":"list","data":[]}""");

        var entry = (await CheckAsync(o =>
        {
            o.Backend.BaseUrl = _backend.BaseUrl;
            o.Backend.Client = BackendClientKind.Sdk;
        })).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        Assert.That(_backend.Requests.Single().PathAndQuery, Is.EqualTo("/v1/models"));
    }

    [Test]
    public async Task AddLuthienBackend_AzureStyle_GetsModelsBelowOpenAiWithApiVersionAndApiKey()
    {
        _backend.Handler = c => FakeBackend.Json(c, 200, """{"data":[]}""");
        var azureUrl = new Uri(_backend.BaseUrl.GetLeftPart(UriPartial.Authority) + "/openai");

        var entry = (await CheckAsync(o =>
        {
            o.Backend.BaseUrl = azureUrl;
            o.Backend.Style = BackendStyle.Azure;
            o.Backend.ApiVersion = "2024-10-21";
        })).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy), entry.Description);
        var request = _backend.Requests.Single();
        Assert.That(request.PathAndQuery, Is.EqualTo("/openai/models?api-version=2024-10-21"));
        Assert.That(request.Headers["api-key"], Is.EqualTo(BackendKey));
        Assert.That(request.Headers.ContainsKey("Authorization"), Is.False);
    }

    [Test]
    public async Task AddLuthienBackend_EchoBackendHandler_HealthyThroughTheHandler()
    {
        var report = await CheckAsync(_ => { }, luthien: EchoBackend.Use);

        Assert.That(report.Entries["luthien-backend"].Status, Is.EqualTo(HealthStatus.Healthy), report.Entries["luthien-backend"].Description);
        Assert.That(_backend.Requests, Is.Empty);
    }

    [Test]
    public async Task AddLuthienBackend_ChatClientBackend_HealthyNotProbed()
    {
        var chat = Substitute.For<IChatClient>();

        var entry = (await CheckAsync(o => o.Backend.BaseUrl = _backend.BaseUrl, luthien: l => l.UseChatClientBackend(chat))).Entries["luthien-backend"];

        Assert.That(entry.Status, Is.EqualTo(HealthStatus.Healthy));
        Assert.That(entry.Description, Does.Contain("not probed"));
        Assert.That(entry.Data["probed"], Is.False);
        Assert.That(_backend.Requests, Is.Empty);
        Assert.That(chat.ReceivedCalls(), Is.Empty);
    }

    [Test]
    public async Task MapHealthChecks_BackendDown_503WithoutTheKey()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddLuthienControl(o =>
        {
            o.Backend.BaseUrl = new Uri($"http://127.0.0.1:{ClosedPort()}/v1");
            o.Backend.ApiKey = BackendKey;
        });
        builder.Services.AddHealthChecks().AddLuthienBackend(tags: ["ready"]);
        await using var app = builder.Build();
        app.MapHealthChecks("/health/ready");
        await app.StartAsync();

        using var response = await app.GetTestClient().GetAsync(new Uri("/health/ready", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("Unhealthy"));
    }

    [Test]
    public void AddLuthienBackend_ZeroTimeout_Throws()
    {
        var health = new ServiceCollection().AddHealthChecks();

        Assert.That(() => health.AddLuthienBackend(timeout: TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static async Task<HealthReport> CheckAsync(
        Action<LuthienOptions> configure, Action<IHealthChecksBuilder>? health = null, Action<LuthienControlBuilder>? luthien = null)
    {
        await using var services = BuildServices(configure, health, luthien);
        return await services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
    }

    private static ServiceProvider BuildServices(
        Action<LuthienOptions> configure, Action<IHealthChecksBuilder>? health = null, Action<LuthienControlBuilder>? luthien = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddLuthienControl(o =>
        {
            o.Backend.ApiKey = BackendKey;
            configure(o);
        });
        luthien?.Invoke(builder);
        var checks = services.AddHealthChecks();
        if (health is null)
        {
            checks.AddLuthienBackend();
        }
        else
        {
            health(checks);
        }

        return services.BuildServiceProvider();
    }

    /// <summary>A loopback port nothing listens on: taken from the system, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
