using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.Sqlite;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>The host's signed-in user reaches conditions (<c>data.client.user</c>) and the audit log.</summary>
public sealed class HostIdentityTests
{
    private FakeBackend _backend = null!;
    private LuthienTestHost _host = null!;
    private AuditDatabase _database = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _database = AuditDatabase.Create();
        _host = await LuthienTestHost.StartAsync(
            new(_database.Settings())
            {
                ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
                ["Luthien:PolicyFile"] = PolicyFiles.Write("""
                    { "type": "SerialPolicy", "config": { "policies": [
                      { "type": "BranchingPolicy", "config": { "cond_to_policy_map": {
                          "{\"type\":\"equals\",\"left\":{\"type\":\"transaction_path\",\"path\":\"data.client.user\"},\"right\":{\"type\":\"static\",\"value\":\"alice\"}}":
                            { "type": "ModelNameReplacement", "config": { "model_mapping": { "m": "for-alice" } } } } } },
                      { "type": "SendBackendRequest", "config": {} }
                    ] } }
                    """),
            },
            configure: luthien => luthien.AddSqliteStore(),
            services: services => services.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, HeaderUserHandler>("Test", null),
            middleware: app => app.UseAuthentication());
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        await _backend.DisposeAsync();
        _database.Dispose();
    }

    private async Task<string> PostAsync(string? user)
    {
        _backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        using var client = _host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        if (user is not null)
        {
            request.Headers.Add("X-Test-User", user);
        }

        var response = await client.SendAsync(request);
        return response.Headers.GetValues("x-luthien-transaction-id").Single();
    }

    [Test]
    public async Task Condition_SignedInUser_SeesDataClientUser()
    {
        _backend.Requests.Clear();

        await PostAsync("alice");
        await PostAsync(null);

        var models = _backend.Requests.Select(r => (string?)JsonNode.Parse(r.Body)!["model"]).ToList();
        Assert.That(models, Is.EqualTo(new[] { "for-alice", "m" }));
    }

    [Test]
    public async Task Outcome_SignedInUser_Logged()
    {
        var id = await PostAsync("alice");

        var outcome = (await _database.RowsAsync(id))["outcome"];
        Assert.That((string?)outcome["client"]!["user"], Is.EqualTo("alice"));
    }

    /// <summary>Signs in whoever the <c>X-Test-User</c> header names.</summary>
    private sealed class HeaderUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue("X-Test-User", out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], "Test");
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), "Test")));
        }
    }
}
