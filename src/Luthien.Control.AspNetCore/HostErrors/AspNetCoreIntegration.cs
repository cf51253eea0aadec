using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// What the ASP.NET Core package adds to <c>AddLuthienControl</c> (found by <c>HostIntegrations</c>): the OpenAI error
/// shape for what the host's own authorization, rate limiting and problem details answer on the Luthien endpoints.
/// Each piece acts on endpoints <c>MapLuthienControl</c> mapped only, and is inert in an app that does not use the
/// feature it decorates.
/// </summary>
internal sealed class AspNetCoreIntegration : IHostIntegration
{
    /// <inheritdoc />
    public void Register(IServiceCollection services)
    {
        // AddLuthienControl may run more than once (the parameterless overload calls another): register once.
        if (services.Any(d => d.ServiceType == typeof(AspNetCoreIntegration)))
        {
            return;
        }

        services.AddSingleton(this);
        DecorateAuthorizationResultHandler(services);

        // The problem details service asks its writers in registration order and takes the first that can write: ours
        // goes first, whether AddProblemDetails (or MVC) came before AddLuthienControl or comes after.
        services.Insert(0, ServiceDescriptor.Singleton<IProblemDetailsWriter, LuthienProblemDetailsWriter>());
        services.AddSingleton<IPostConfigureOptions<RateLimiterOptions>, RateLimiterRejection>();
    }

    /// <summary>
    /// Wraps the host's <see cref="IAuthorizationMiddlewareResultHandler"/> registered so far (with its lifetime), or
    /// ASP.NET Core's default one. <c>AddAuthorization</c> after this registers its default only if none is there, so
    /// the decorator stays; a handler the host registers after <c>AddLuthienControl</c> replaces it (the host's choice).
    /// </summary>
    private static void DecorateAuthorizationResultHandler(IServiceCollection services)
    {
        var existing = services.LastOrDefault(d => d.ServiceType == typeof(IAuthorizationMiddlewareResultHandler) && !d.IsKeyedService);
        if (existing is null)
        {
            services.AddSingleton<IAuthorizationMiddlewareResultHandler>(_ => new LuthienAuthorizationResultHandler(new AuthorizationMiddlewareResultHandler()));
            return;
        }

        services.Remove(existing);
        services.Add(ServiceDescriptor.Describe(
            typeof(IAuthorizationMiddlewareResultHandler),
            sp => new LuthienAuthorizationResultHandler((IAuthorizationMiddlewareResultHandler)Create(sp, existing)),
            existing.Lifetime));
    }

    private static object Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        descriptor.ImplementationInstance ??
        descriptor.ImplementationFactory?.Invoke(services) ??
        ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!);

    /// <summary>
    /// A request the host's rate limiting rejected on a Luthien endpoint gets the OpenAI error body after the host's own
    /// <see cref="RateLimiterOptions.OnRejected"/> (which may set <c>Retry-After</c>), unless that wrote a body itself.
    /// </summary>
    private sealed class RateLimiterRejection : IPostConfigureOptions<RateLimiterOptions>
    {
        public void PostConfigure(string? name, RateLimiterOptions options)
        {
            var hostOnRejected = options.OnRejected;
            options.OnRejected = async (context, cancellationToken) =>
            {
                if (hostOnRejected is not null)
                {
                    await hostOnRejected(context, cancellationToken).ConfigureAwait(false);
                }

                if (LuthienEndpointMetadata.IsOn(context.HttpContext))
                {
                    await HostErrorResponse.TryWriteAsync(context.HttpContext).ConfigureAwait(false);
                }
            };
        }
    }
}
