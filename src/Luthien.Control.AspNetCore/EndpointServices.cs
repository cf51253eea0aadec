using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// The endpoints' own services, made once per application from its services when <c>MapLuthienControl</c> or
/// <c>MapLuthienAdmin</c> first needs them. <c>AddLuthienControl</c> lives in the core package, which knows nothing of
/// ASP.NET Core, so it cannot register them; a host makes the same two calls as before and registers nothing more.
/// </summary>
/// <remarks>
/// A type the application registered itself (a test's substitute, say) is taken from the application. Everything else
/// resolves from the application's services: options, logging, the backend, the pipeline.
/// </remarks>
internal sealed class EndpointServices : IServiceProvider, IServiceProviderIsService
{
    private static readonly ConditionalWeakTable<IServiceProvider, EndpointServices> ByApplication = [];

    private static readonly HashSet<Type> Own =
    [
        typeof(RequestReader),
        typeof(PassthroughResponseWriter),
        typeof(SseResponseWriter),
        typeof(ErrorResponseWriter),
        typeof(LuthienRequestHandler),
        typeof(AdminSessions),
        typeof(AdminLoginThrottle),
    ];

    private readonly IServiceProvider _application;
    private readonly ConcurrentDictionary<Type, Lazy<object>> _made = new();
    private readonly Lazy<IDataProtectionProvider> _protection;

    private EndpointServices(IServiceProvider application)
    {
        _application = application;
        _protection = new(() => application.GetService<IDataProtectionProvider>() ?? OwnProtection(application));
    }

    /// <summary>The endpoint services of this application (one set per application's services).</summary>
    /// <param name="application">The application's root services.</param>
    public static EndpointServices For(IServiceProvider application) => ByApplication.GetValue(application, a => new EndpointServices(a));

    /// <summary>Whether <c>AddLuthienControl</c> was called: the endpoints need the services it registers.</summary>
    /// <param name="application">The application's root services.</param>
    public static bool HasCoreServices(IServiceProvider application) =>
        application.GetService<IServiceProviderIsService>() is not { } isService || isService.IsService(typeof(HostPipeline));

    /// <inheritdoc />
    public object? GetService(Type serviceType)
    {
        if (serviceType == typeof(IServiceProviderIsService))
        {
            return this;
        }

        if (serviceType == typeof(IDataProtectionProvider))
        {
            return _protection.Value;
        }

        if (!Own.Contains(serviceType))
        {
            return _application.GetService(serviceType);
        }

        return _application.GetService(serviceType) ??
            _made.GetOrAdd(serviceType, type => new Lazy<object>(() => ActivatorUtilities.CreateInstance(this, type))).Value;
    }

    /// <inheritdoc />
    public bool IsService(Type serviceType) =>
        Own.Contains(serviceType) || serviceType == typeof(IDataProtectionProvider) ||
        (_application.GetService<IServiceProviderIsService>()?.IsService(serviceType) ?? false);

    /// <summary>
    /// The admin cookie's protection when the host set up no Data Protection of its own: ASP.NET Core's default key ring
    /// (kept in the user's profile), isolated per application by its content root, as <c>AddDataProtection</c> does.
    /// </summary>
    private static IDataProtectionProvider OwnProtection(IServiceProvider application)
    {
        var environment = application.GetService<IHostEnvironment>();
        var discriminator = environment?.ContentRootPath ?? AppContext.BaseDirectory;
        LogOwnProtection(application.GetService<ILoggerFactory>()?.CreateLogger("Luthien.Control.AspNetCore.Admin") ?? NullLogger.Instance, null);
        return DataProtectionProvider.Create("Luthien.Control:" + discriminator);
    }

    private static readonly Action<ILogger, Exception?> LogOwnProtection = LoggerMessage.Define(
        LogLevel.Information,
        new EventId(1, "AdminDefaultKeyRing"),
        "Admin area: the host set up no Data Protection, so session cookies are protected with ASP.NET Core's default key ring for this content root (kept in the user's profile; in memory only where there is none, and then sessions end with the process). Call builder.Services.AddDataProtection() to choose where the keys live; instances behind one address must share them.");
}
