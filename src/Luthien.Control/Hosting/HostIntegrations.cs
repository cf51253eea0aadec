using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control;

/// <summary>What a host package adds to <c>AddLuthienControl</c>'s registration.</summary>
internal interface IHostIntegration
{
    /// <summary>Registers the host package's services.</summary>
    /// <param name="services">The application's services.</param>
    void Register(IServiceCollection services);
}

/// <summary>
/// Lets the ASP.NET Core package register services when the application has it. <c>AddLuthienControl</c> lives here,
/// in a package that knows nothing of ASP.NET Core, and the endpoints are mapped only after the container is built; yet
/// the OpenAI-shaped answers to the host's own authorization, rate limiting and problem details on the Luthien
/// endpoints need services decorated before it is built. So the host keeps making the same two calls
/// (<c>AddLuthienControl</c>, <c>MapLuthienControl</c>) and registers nothing more.
/// </summary>
internal static class HostIntegrations
{
    private const string AspNetCoreType = "Luthien.Control.AspNetCore.AspNetCoreIntegration";
    private const string AspNetCoreAssembly = "Luthien.Control.AspNetCore";

    /// <summary>Registers every host package's services the application has (none for an app without ASP.NET Core).</summary>
    /// <param name="services">The application's services.</param>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, AspNetCoreType, AspNetCoreAssembly)]
    public static void Register(IServiceCollection services)
    {
        Type? type;
        try
        {
            type = Type.GetType(AspNetCoreType + ", " + AspNetCoreAssembly, throwOnError: false);
        }
        catch (Exception ex) when (ex is FileLoadException or BadImageFormatException)
        {
            // An app without the package (or with a copy it cannot load) has nothing of it to register.
            return;
        }

        if (type is not null && Activator.CreateInstance(type) is IHostIntegration integration)
        {
            integration.Register(services);
        }
    }
}
