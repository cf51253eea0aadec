using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>What <c>MapLuthienControl</c> maps, and that the group it returns holds every route, Azure's included.</summary>
public class LuthienEndpointRouteBuilderExtensionsTests
{
    [TestCase("POST", "/v1/chat/completions")]
    [TestCase("POST", "/v1/responses")]
    [TestCase("POST", "/v1/completions")]
    [TestCase("GET", "/v1/models")]
    [TestCase("POST", "/openai/deployments/d/chat/completions?api-version=2024-10-21")]
    [TestCase("POST", "/openai/deployments/d/responses?api-version=2025-04-01-preview")]
    [TestCase("POST", "/openai/v1/responses")]
    [TestCase("POST", "/openai/responses?api-version=2025-04-01-preview")]
    [TestCase("GET", "/openai/anything/else")]
    public async Task MapLuthienControl_GroupRequiresAuthorization_EveryRouteRefusesAnonymous(string method, string path)
    {
        await using var app = await StartAsync(requireAuthorization: true);

        using var response = await app.GetTestClient().SendAsync(new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent("""{"model":"m","input":"hi","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task MapLuthienControl_GroupRequiresAuthorization_EveryMappedEndpointCarriesIt()
    {
        await using var app = await StartAsync(requireAuthorization: true);

        var endpoints = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>().ToList();

        Assert.That(endpoints.Select(e => e.RoutePattern.RawText), Has.Some.StartsWith("/openai/deployments/").And.Some.StartsWith("/v1/"));
        Assert.That(endpoints.Where(e => e.Metadata.GetMetadata<IAuthorizeData>() is null).Select(e => e.RoutePattern.RawText), Is.Empty);
    }

    [Test]
    public async Task MapLuthienControl_WithoutAuthorization_SameRouteIsServed()
    {
        await using var app = await StartAsync(requireAuthorization: false);

        using var response = await app.GetTestClient().PostAsync("/openai/v1/responses", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "reached the handler: 'input' is missing");
    }

    [Test]
    public async Task MapLuthienControl_CalledTwice_AzureRoutesMappedOnceAndStillServed()
    {
        await using var app = await StartAsync(requireAuthorization: false, secondPrefix: "/api");

        using var azure = await app.GetTestClient().PostAsync("/openai/v1/responses", new StringContent("{}", Encoding.UTF8, "application/json"));
        using var second = await app.GetTestClient().PostAsync("/api/responses", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.That(azure.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await azure.Content.ReadAsStringAsync());
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await second.Content.ReadAsStringAsync());
    }

    [TestCase("/openai")]
    [TestCase("/OpenAI/v1")]
    [TestCase("openai/")]
    public void MapLuthienControl_PrefixUnderOpenAi_Throws(string prefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddLuthienControl(_ => { });
        var app = builder.Build();

        Assert.Throws<ArgumentException>(() => app.MapLuthienControl(prefix));
    }

    [Test]
    public void MapLuthienControl_WithoutAddLuthienControl_ThrowsNamingTheCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();

        Assert.That(() => app.MapLuthienControl("/v1"),
            Throws.InvalidOperationException.With.Message.Contains("builder.Services.AddLuthienControl("));
    }

    [Test]
    public async Task MapLuthienControl_NoArgumentRegistration_ServesWithTheLuthienSection()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Luthien:Limits:MaxRequestBodyBytes"] = "64",
        });
        builder.Services.AddLuthienControl();
        await using var app = builder.Build();
        app.MapLuthienControl("/v1");
        await app.StartAsync();
        using var client = app.GetTestClient();

        using var response = await client.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative),
            new StringContent("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 100) + "\"}]}", Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), await response.Content.ReadAsStringAsync());
    }

    private static async Task<WebApplication> StartAsync(bool requireAuthorization, string? secondPrefix = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:9/v1" });
        builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));
        builder.Services.AddAuthentication(DenyAllHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, DenyAllHandler>(DenyAllHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        var group = app.MapLuthienControl("/v1");
        if (requireAuthorization)
        {
            group.RequireAuthorization();
        }

        if (secondPrefix is not null)
        {
            app.MapLuthienControl(secondPrefix);
        }

        await app.StartAsync();
        return app;
    }

    /// <summary>Authenticates nobody: every endpoint that requires authorization answers 401.</summary>
    private sealed class DenyAllHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "deny";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
    }
}
