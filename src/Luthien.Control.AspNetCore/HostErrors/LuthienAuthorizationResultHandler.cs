using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Decorates the host's authorization result handler: on a Luthien endpoint, a request the host's authorization refused
/// gets, after the scheme's own challenge or forbid (its status, its <c>WWW-Authenticate</c>), the OpenAI error body
/// an OpenAI SDK can read — where the scheme alone leaves it empty (JwtBearer) or a status code page would make it
/// <c>application/problem+json</c>. Every other endpoint, and every authorized request, is left to the host's handler.
/// </summary>
/// <param name="inner">The host's handler (ASP.NET Core's default unless the host registered its own first).</param>
internal sealed class LuthienAuthorizationResultHandler(IAuthorizationMiddlewareResultHandler inner) : IAuthorizationMiddlewareResultHandler
{
    /// <summary>The handler decorated, for tests.</summary>
    internal IAuthorizationMiddlewareResultHandler Inner => inner;

    /// <inheritdoc />
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        await inner.HandleAsync(next, context, policy, authorizeResult).ConfigureAwait(false);

        // Only a refusal the scheme left without a body: a redirect (a cookie scheme's login page) or a body of the
        // host's own stays as it is; an authorized request has been answered by the endpoint itself.
        if (!authorizeResult.Succeeded && context.Response.StatusCode is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden &&
            LuthienEndpointMetadata.IsOn(context))
        {
            await HostErrorResponse.TryWriteAsync(context).ConfigureAwait(false);
        }
    }
}
