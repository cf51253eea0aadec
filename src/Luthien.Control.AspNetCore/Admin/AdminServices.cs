using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Luthien.Control.AspNetCore;

/// <summary>What the admin area needs from dependency injection; added by <c>AddLuthienControl</c>.</summary>
internal static class AdminServices
{
    /// <summary>
    /// Adds the session keeper, the login throttle and ASP.NET Data Protection (which protects the session cookie). A
    /// host that configured Data Protection itself (shared keys for several instances, say) keeps its configuration:
    /// <c>AddDataProtection</c> only adds what is missing.
    /// </summary>
    /// <param name="services">The application's services.</param>
    public static void Add(IServiceCollection services)
    {
        services.AddDataProtection();
        services.TryAddSingleton<AdminSessions>();
        services.TryAddSingleton<AdminLoginThrottle>();
    }
}
