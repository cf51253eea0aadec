using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore;

/// <summary>Maps the Luthien.Control routes.</summary>
public static class LuthienEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>POST {prefix}/chat/completions</c> (parsed; every policy applies) and, under <paramref name="prefix"/>, the
    /// routes <c>Luthien:Passthrough:Allow</c> lists (forwarded to the backend with bodies streamed; request-side
    /// policies apply); any other path gets 404 <c>not_found</c>.
    /// </summary>
    /// <remarks>
    /// Paths are taken literally: a path with an empty, <c>.</c> or <c>..</c> segment, a backslash, an encoded
    /// <c>/</c>, <c>\</c>, <c>.</c>, <c>?</c>, <c>#</c> or <c>%</c>, or whitespace or control characters gets 400
    /// <c>invalid_request</c> on every route mapped here, and nothing is forwarded.
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="prefix">The route prefix clients use as their base URL's path, e.g. <c>/v1</c>.</param>
    /// <returns>The route group, to add metadata such as authorization or rate limiting.</returns>
    /// <example>
    /// <code>
    /// var app = builder.Build();
    /// app.MapLuthienControl("/v1");
    /// app.Run();
    /// </code>
    /// </example>
    public static RouteGroupBuilder MapLuthienControl(this IEndpointRouteBuilder endpoints, string prefix = "/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var group = endpoints.MapGroup(prefix);

        // The handler is a singleton: taken from the root provider once, on first use. Asking each request's
        // RequestServices would create a DI scope per request (and its dispose registration) for nothing.
        var services = endpoints.ServiceProvider;
        LuthienRequestHandler? handler = null;
        LuthienRequestHandler Handler() => handler ??= services.GetRequiredService<LuthienRequestHandler>();
        group.MapPost("/chat/completions", context => Handler().HandleChatAsync(context, "chat/completions"));
        group.Map("/{**rest}", context =>
            Handler().HandlePassthroughAsync(context, context.Request.RouteValues["rest"] as string ?? string.Empty));
        return group;
    }
}
