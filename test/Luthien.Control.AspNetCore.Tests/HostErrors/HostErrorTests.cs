using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenAI;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests.HostErrors;

/// <summary>
/// What the host's own middleware answers on the route group <c>MapLuthienControl</c> returns — JwtBearer's 401 and 403,
/// rate limiting's rejection, problem details from status code pages and the exception handler — reaches OpenAI clients
/// as an OpenAI error, while the host's other endpoints answer as before.
/// </summary>
public class HostErrorTests
{
    private static readonly SymmetricSecurityKey SigningKey = new(Encoding.UTF8.GetBytes("a-test-signing-key-of-32-bytes!!"));

    [TestCase(false)]
    [TestCase(true)]
    public async Task RequireAuthorization_NoToken_401InOpenAiShapeWithChallengeKept(bool problemDetails)
    {
        await using var app = await StartAsync(problemDetails);

        using var response = await app.GetTestClient().SendAsync(ChatRequest(token: null));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "authentication_error", "invalid_api_key");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task RequireAuthorization_TokenWithoutRequiredClaim_403PermissionDenied(bool problemDetails)
    {
        await using var app = await StartAsync(problemDetails);

        using var response = await app.GetTestClient().SendAsync(ChatRequest(Token(scope: "other")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "permission_error", "permission_denied");
    }

    [Test]
    public async Task RequireAuthorization_InvalidToken_401KeepsTheSchemesErrorHeader()
    {
        await using var app = await StartAsync(problemDetails: true);

        using var response = await app.GetTestClient().SendAsync(ChatRequest("not.a.token"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "authentication_error", "invalid_api_key");
    }

    [Test]
    public async Task RequireAuthorization_ProblemDetailsRegisteredFirst_StillOpenAiShape()
    {
        await using var app = await StartAsync(problemDetails: true, problemDetailsBeforeLuthien: true);

        using var response = await app.GetTestClient().SendAsync(ChatRequest(token: null));

        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "authentication_error", "invalid_api_key");
    }

    [TestCase("/openai/deployments/d/chat/completions?api-version=2024-10-21")]
    [TestCase("/v1/models")]
    public async Task RequireAuthorization_AzureAndPassthroughRoutes_401InOpenAiShape(string path)
    {
        await using var app = await StartAsync(problemDetails: true);

        using var response = await app.GetTestClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent("{}") });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "authentication_error", "invalid_api_key");
    }

    [Test]
    public async Task RequireAuthorization_ValidToken_ReachesTheEndpoint()
    {
        await using var app = await StartAsync(problemDetails: true);

        using var response = await app.GetTestClient().SendAsync(ChatRequest(Token(scope: "luthien")));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the handler's own answer: 'messages' is missing");
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["param"]!.GetValue<string>(), Is.EqualTo("messages"));
    }

    [Test]
    public async Task RequireAuthorization_HostsOtherEndpointWithoutProblemDetails_StaysEmpty()
    {
        await using var app = await StartAsync(problemDetails: false);

        using var response = await app.GetTestClient().GetAsync(new Uri("/mine", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
        Assert.That(response.Content.Headers.ContentType, Is.Null);
    }

    [Test]
    public async Task RequireAuthorization_HostsOtherEndpointWithProblemDetails_StaysProblemJson()
    {
        await using var app = await StartAsync(problemDetails: true);

        using var response = await app.GetTestClient().GetAsync(new Uri("/mine", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task OpenAiClient_NoValidToken_ReadsStatusAndMessage(bool problemDetails)
    {
        await using var app = await StartAsync(problemDetails);
        var client = new OpenAIClient(new ApiKeyCredential("not-a-jwt"), ClientOptions(app)).GetChatClient("gpt-4o");

        var ex = Assert.ThrowsAsync<ClientResultException>(async () => await client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.That(ex!.Status, Is.EqualTo(401));
        Assert.That(ex.Message, Does.Contain("not authenticated").And.Contain("invalid_api_key"));
    }

    [Test]
    public async Task OpenAiClient_Forbidden_ReadsStatusAndMessage()
    {
        await using var app = await StartAsync(problemDetails: false);
        var client = new OpenAIClient(new ApiKeyCredential(Token(scope: "other")), ClientOptions(app)).GetChatClient("gpt-4o");

        var ex = Assert.ThrowsAsync<ClientResultException>(async () => await client.CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.That(ex!.Status, Is.EqualTo(403));
        Assert.That(ex.Message, Does.Contain("not allowed").And.Contain("permission_denied"));
    }

    [Test]
    public async Task RequireAuthorization_HostHandlerRegisteredFirst_IsDecoratedNotReplaced()
    {
        await using var app = await StartAsync(problemDetails: false, services: s => s.AddSingleton<IAuthorizationMiddlewareResultHandler, HeaderAddingHandler>());

        using var response = await app.GetTestClient().SendAsync(ChatRequest(token: null));

        Assert.That(response.Headers.GetValues("x-host-handler"), Is.EqualTo(new[] { "ran" }));
        AssertEnvelope(await response.Content.ReadAsStringAsync(), "authentication_error", "invalid_api_key");
    }

    [Test]
    public async Task RequireAuthorization_HostHandlerWritesItsOwnBody_BodyKept()
    {
        await using var app = await StartAsync(problemDetails: false, services: s => s.AddSingleton<IAuthorizationMiddlewareResultHandler, BodyWritingHandler>());

        using var response = await app.GetTestClient().SendAsync(ChatRequest(token: null));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("host's own"));
    }

    [TestCase(StatusCodes.Status429TooManyRequests, "rate_limit_error", "rate_limit_exceeded")]
    [TestCase(StatusCodes.Status503ServiceUnavailable, "server_error", "service_unavailable")]
    public async Task RequireRateLimiting_Rejected_OpenAiShapeAndHostsRetryAfterKept(int rejectionStatus, string type, string code)
    {
        await using var app = await StartRateLimitedAsync(rejectionStatus);
        using var client = app.GetTestClient();
        using var first = await client.SendAsync(ChatRequest(token: null));

        using var second = await client.SendAsync(ChatRequest(token: null));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the first request is let through");
        Assert.That((int)second.StatusCode, Is.EqualTo(rejectionStatus));
        Assert.That(second.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        Assert.That(second.Headers.RetryAfter?.ToString(), Is.EqualTo("60"));
        AssertEnvelope(await second.Content.ReadAsStringAsync(), type, code);
    }

    [Test]
    public async Task RequireRateLimiting_HostsOtherEndpoint_RejectionUnchanged()
    {
        await using var app = await StartRateLimitedAsync(StatusCodes.Status429TooManyRequests);
        using var client = app.GetTestClient();
        using var first = await client.GetAsync(new Uri("/mine", UriKind.Relative));

        using var second = await client.GetAsync(new Uri("/mine", UriKind.Relative));

        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(await second.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public async Task ExceptionHandler_MiddlewareThrowsOnLuthienEndpoint_ServerErrorWithoutDetail()
    {
        await using var app = await StartThrowingAsync();

        using var response = await app.GetTestClient().SendAsync(ChatRequest(token: null));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
        var body = await response.Content.ReadAsStringAsync();
        AssertEnvelope(body, "server_error", "server_error");
        Assert.That(body, Does.Not.Contain("secret detail"));
    }

    [Test]
    public async Task ExceptionHandler_MiddlewareThrowsOnHostsEndpoint_StaysProblemJson()
    {
        await using var app = await StartThrowingAsync();

        using var response = await app.GetTestClient().GetAsync(new Uri("/mine", UriKind.Relative));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
    }

    [TestCase("https://allowed.example", true)]
    [TestCase("https://other.example", false)]
    public async Task RequireCors_Preflight_204WithAllowOriginOnlyForTheAllowedOrigin(string origin, bool allowed)
    {
        var builder = CreateBuilder();
        AddLuthien(builder);
        builder.Services.AddCors(o => o.AddPolicy("web", p => p.WithOrigins("https://allowed.example").AllowAnyHeader().AllowAnyMethod()));
        await using var app = builder.Build();
        app.UseCors();
        app.MapLuthienControl("/v1").RequireCors("web");
        await app.StartAsync();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");

        using var response = await app.GetTestClient().SendAsync(preflight);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(response.Headers.Contains("Access-Control-Allow-Origin"), Is.EqualTo(allowed));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public void AddLuthienControl_CalledTwice_DecoratesTheHandlerOnce()
    {
        var services = new ServiceCollection();
        services.AddLuthienControl(_ => { });
        services.AddLuthienControl(_ => { });

        Assert.That(services.Count(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler)), Is.EqualTo(1));
        Assert.That(services.Count(d => d.ServiceType == typeof(IProblemDetailsWriter)), Is.EqualTo(1));
    }

    private static void AssertEnvelope(string body, string type, string code)
    {
        var root = JsonNode.Parse(body)!.AsObject();
        Assert.That(root.Select(p => p.Key), Is.EqualTo(new[] { "error" }), body);
        var error = root["error"]!.AsObject();
        Assert.That(error.Select(p => p.Key), Is.EqualTo(new[] { "message", "type", "param", "code" }), body);
        Assert.That(error["message"]!.GetValue<string>(), Is.Not.Empty);
        Assert.That(error["type"]!.GetValue<string>(), Is.EqualTo(type));
        Assert.That(error["param"], Is.Null);
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo(code));
    }

    private static HttpRequestMessage ChatRequest(string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent("""{"model":"m"}""") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static StringContent JsonContent(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Token(string scope) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = "test-issuer",
        Audience = "luthien",
        Subject = new ClaimsIdentity([new Claim("sub", "user-1"), new Claim("scope", scope)]),
        SigningCredentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256),
    });

    private static OpenAIClientOptions ClientOptions(WebApplication app)
    {
        var http = app.GetTestClient();
        return new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
        };
    }

    /// <summary>
    /// A host with JwtBearer, a policy needing <c>scope=luthien</c> on the Luthien group and a default one on its own
    /// <c>/mine</c>; with problem details, status code pages run around authorization, so its 401 and 403 would be
    /// <c>application/problem+json</c>.
    /// </summary>
    private static async Task<WebApplication> StartAsync(bool problemDetails, bool problemDetailsBeforeLuthien = false, Action<IServiceCollection>? services = null)
    {
        var builder = CreateBuilder();
        services?.Invoke(builder.Services);
        if (problemDetails && problemDetailsBeforeLuthien)
        {
            builder.Services.AddProblemDetails();
        }

        AddLuthien(builder);
        if (problemDetails && !problemDetailsBeforeLuthien)
        {
            builder.Services.AddProblemDetails();
        }

        builder.Services.AddAuthentication().AddJwtBearer(o => o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = "test-issuer",
            ValidAudience = "luthien",
            IssuerSigningKey = SigningKey,
        });
        builder.Services.AddAuthorizationBuilder().AddPolicy("luthien", p => p.RequireClaim("scope", "luthien"));
        var app = builder.Build();
        if (problemDetails)
        {
            app.UseStatusCodePages();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/mine", () => "mine").RequireAuthorization();
        app.MapLuthienControl("/v1").RequireAuthorization("luthien");
        await app.StartAsync();
        return app;
    }

    /// <summary>One request per minute on both the Luthien group and the host's <c>/mine</c>; the host's OnRejected sets Retry-After.</summary>
    private static async Task<WebApplication> StartRateLimitedAsync(int rejectionStatus)
    {
        var builder = CreateBuilder();
        AddLuthien(builder);
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = rejectionStatus;
            o.OnRejected = (context, _) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                return ValueTask.CompletedTask;
            };
            o.AddFixedWindowLimiter("one", w =>
            {
                w.PermitLimit = 1;
                w.Window = TimeSpan.FromMinutes(1);
                w.QueueLimit = 0;
            });
            o.AddFixedWindowLimiter("mine", w =>
            {
                w.PermitLimit = 1;
                w.Window = TimeSpan.FromMinutes(1);
                w.QueueLimit = 0;
            });
        });
        var app = builder.Build();
        app.UseRateLimiter();
        app.MapGet("/mine", () => "mine").RequireRateLimiting("mine");
        app.MapLuthienControl("/v1").RequireRateLimiting("one");
        await app.StartAsync();
        return app;
    }

    /// <summary>The exception handler with problem details, and a middleware that throws on every request after routing.</summary>
    private static async Task<WebApplication> StartThrowingAsync()
    {
        var builder = CreateBuilder();
        AddLuthien(builder);
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseRouting();
        app.Use((HttpContext _, RequestDelegate _) => throw new InvalidOperationException("secret detail"));
        app.MapGet("/mine", () => "mine");
        app.MapLuthienControl("/v1");
        await app.StartAsync();
        return app;
    }

    private static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        return builder;
    }

    private static void AddLuthien(WebApplicationBuilder builder) =>
        builder.Services.AddLuthienControl(o => o.Backend.BaseUrl = new Uri("http://127.0.0.1:9/v1"));

    /// <summary>A host's own handler: ASP.NET Core's default, plus a header.</summary>
    private sealed class HeaderAddingHandler : IAuthorizationMiddlewareResultHandler
    {
        private readonly AuthorizationMiddlewareResultHandler _default = new();

        public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            context.Response.Headers["x-host-handler"] = "ran";
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }
    }

    /// <summary>A host's own handler that answers refusals with a body of its own.</summary>
    private sealed class BodyWritingHandler : IAuthorizationMiddlewareResultHandler
    {
        public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
        {
            if (authorizeResult.Succeeded)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("host's own");
        }
    }
}
