using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore;

/// <summary>Maps the Luthien.Control routes.</summary>
public static class LuthienEndpointRouteBuilderExtensions
{
    /// <summary>The builders whose Azure routes are mapped already: mapping them twice would make every Azure request ambiguous.</summary>
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, object> AzureMapped = [];

    /// <summary>
    /// Maps the policed routes — <c>POST {prefix}/chat/completions</c>, <c>POST {prefix}/responses</c> and
    /// <c>POST {prefix}/completions</c>, and the same three as Azure OpenAI clients call them, at the root of
    /// <paramref name="endpoints"/>: <c>POST /openai/deployments/{deployment}/chat/completions|completions|responses</c>
    /// (the deployment names the model when the body names none), <c>POST /openai/v1/chat/completions|responses|completions</c>
    /// and <c>POST /openai/responses</c> — where every policy applies; and, under <paramref name="prefix"/>, the routes
    /// <c>Luthien:Passthrough:Allow</c> lists (forwarded to the backend with bodies streamed; request-side policies
    /// apply). Any other path under the prefix or under <c>/openai/</c> gets 404 <c>not_found</c> and is never forwarded.
    /// </summary>
    /// <remarks>
    /// <para>
    /// What the host adds to the returned group answers OpenAI clients in their error shape too: a 401 or 403 from
    /// <c>RequireAuthorization()</c> gets the body <c>{"error":{…,"code":"invalid_api_key"}}</c> (403:
    /// <c>permission_denied</c>) after the scheme's own headers (<c>WWW-Authenticate</c>); a rejection by
    /// <c>RequireRateLimiting(…)</c> gets <c>rate_limit_exceeded</c> (429) or <c>service_unavailable</c> (503, rate
    /// limiting's default status); anything the host's problem details service would write (status code pages, the
    /// exception handler) is written as that envelope with <c>content-type: application/json</c>. A redirect (a cookie
    /// scheme's login page) or a body the host's own handler wrote stays as it is; the host's other endpoints are never
    /// changed.
    /// </para>
    /// <para>
    /// Paths are taken literally: a path with an empty, <c>.</c> or <c>..</c> segment, a backslash, an encoded
    /// <c>/</c>, <c>\</c>, <c>.</c>, <c>?</c>, <c>#</c> or <c>%</c>, or whitespace or control characters gets 400
    /// <c>invalid_request</c> on every route mapped here, and nothing is forwarded. Matching ignores case and one
    /// trailing slash, as routing does. Paths below a policed API (<c>responses/{id}</c>, say) are never passed through,
    /// whatever the allow list says: what they return is model output.
    /// </para>
    /// <para>
    /// The Azure routes are mapped by the first call on a given <paramref name="endpoints"/> only; the returned group
    /// holds them with the prefix's routes, so metadata added to it applies to both.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="prefix">The route prefix clients use as their base URL's path, e.g. <c>/v1</c>; not <c>/openai</c>, which Azure's routes take.</param>
    /// <returns>The route group of every route mapped here, to add metadata such as authorization or rate limiting.</returns>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is <c>/openai</c> or below it.</exception>
    /// <exception cref="PolicyLoadException">
    /// The root policy was built already and a request could reach <c>SendBackendRequest</c> with no backend URL
    /// (<c>Luthien:Backend:BaseUrl</c> not set). Otherwise the same check runs when the app starts.
    /// </exception>
    /// <example>
    /// <code>
    /// var app = builder.Build();
    /// app.MapLuthienControl("/v1").RequireAuthorization();   // the Azure routes too
    /// app.Run();
    /// </code>
    /// </example>
    public static RouteGroupBuilder MapLuthienControl(this IEndpointRouteBuilder endpoints, string prefix = "/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var trimmed = prefix.Trim('/');
        if (trimmed.Equals("openai", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("openai/", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The prefix '{prefix}' collides with the Azure OpenAI routes under /openai; use another, e.g. /v1.", nameof(prefix));
        }

        // The handler is a singleton: taken from the root provider once, on first use. Asking each request's
        // RequestServices would create a DI scope per request (and its dispose registration) for nothing.
        if (!EndpointServices.HasCoreServices(endpoints.ServiceProvider))
        {
            throw new InvalidOperationException("MapLuthienControl needs the services AddLuthienControl registers: call builder.Services.AddLuthienControl(…) first.");
        }

        // The endpoints send requests to the backend: from now on the start checks want it to have an address.
        endpoints.ServiceProvider.GetService<RootPolicyProvider>()?.EndpointsMapped();

        var services = EndpointServices.For(endpoints.ServiceProvider);
        LuthienRequestHandler? handler = null;
        LuthienRequestHandler Handler() => handler ??= services.GetRequiredService<LuthienRequestHandler>();

        // One group around both sets of routes, so that what the host adds to it reaches every route mapped here.
        var all = endpoints.MapGroup(string.Empty);

        // What the host's own middleware answers on these endpoints (authorization, rate limiting, problem details) is
        // written as an OpenAI error; its other endpoints are left alone.
        all.WithMetadata(LuthienEndpointMetadata.Instance);
        var group = all.MapGroup(prefix);
        group.MapPost("/chat/completions", context => Handler().HandlePolicedAsync(context, RequestKind.ChatCompletion));
        group.MapPost("/responses", context => Handler().HandlePolicedAsync(context, RequestKind.Responses));
        group.MapPost("/completions", context => Handler().HandlePolicedAsync(context, RequestKind.Completion));
        group.Map("/{**rest}", context =>
            Handler().HandlePassthroughAsync(context, context.Request.RouteValues["rest"] as string ?? string.Empty));

        if (AzureMapped.TryAdd(endpoints, new object()))
        {
            MapAzure(all.MapGroup("/openai"), Handler);
        }

        return all;
    }

    /// <summary>The Azure OpenAI routes: the policed three in each of Azure's spellings, and nothing else.</summary>
    private static void MapAzure(RouteGroupBuilder azure, Func<LuthienRequestHandler> handler)
    {
        foreach (var (path, kind) in new[] { ("chat/completions", RequestKind.ChatCompletion), ("completions", RequestKind.Completion), ("responses", RequestKind.Responses) })
        {
            azure.MapPost("/deployments/{deployment}/" + path, context =>
                handler().HandlePolicedAsync(context, kind, context.Request.RouteValues["deployment"] as string));
            azure.MapPost("/v1/" + path, context => handler().HandlePolicedAsync(context, kind));
        }

        azure.MapPost("/responses", context => handler().HandlePolicedAsync(context, RequestKind.Responses));
        azure.Map("/{**rest}", context => handler().HandleNotServedAsync(context, InvalidRequestException.NotFound(
            "Under /openai/ this proxy serves only POST deployments/{deployment}/chat/completions, …/completions and …/responses, " +
            "v1/chat/completions, v1/completions, v1/responses and responses; other Azure OpenAI paths are never forwarded.")));
    }
}
