using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control;

/// <summary>
/// Configures Luthien.Control after <c>AddLuthienControl</c>:
/// register your own policy types, choose the root policy, plug in the backend's HTTP handler.
/// </summary>
public sealed class LuthienControlBuilder
{
    internal LuthienControlBuilder(IServiceCollection services) => Services = services;

    /// <summary>The application's services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Reaches the backend through this handler instead of the library's own (no redirects, no cookies, no automatic
    /// decompression, no proxy): an in-process backend, a test double, or a handler of your own with its own settings.
    /// The backend client is the library's own, so the host's <c>ConfigureHttpClientDefaults</c> (retries, resilience,
    /// logging) never applies to it: a proxy must not multiply its clients' requests.
    /// </summary>
    /// <param name="factory">Creates the handler once, with the application's services; the library disposes it.</param>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .UseBackendHandler(_ => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
    /// </code>
    /// </example>
    public LuthienControlBuilder UseBackendHandler(Func<IServiceProvider, HttpMessageHandler> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(new BackendHandlerFactory(factory));
        return this;
    }

    /// <summary>
    /// Registers a policy type so policy files can name it. It is created with the application's services; a
    /// constructor parameter of type <see cref="PolicyConfig"/> receives its raw <c>config</c>.
    /// </summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddPolicy&lt;MyAuditPolicy&gt;("MyAuditPolicy");
    /// </code>
    /// </example>
    public LuthienControlBuilder AddPolicy<TPolicy>(string typeName)
        where TPolicy : ControlPolicy
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        var takesConfig = typeof(TPolicy).GetConstructors()
            .Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(PolicyConfig)));
        return ConfigureRegistry(registry => registry.Register(typeName, config =>
        {
            var policy = takesConfig
                ? ActivatorUtilities.CreateInstance<TPolicy>(config.Services, config)
                : ActivatorUtilities.CreateInstance<TPolicy>(config.Services);
            policy.Name = config.Name;
            return policy;
        }));
    }

    /// <summary>
    /// Registers a policy type whose <c>config</c> binds to <typeparamref name="TOptions"/> (snake_case keys, unknown
    /// keys rejected at start). The options are passed to its constructor with the application's services.
    /// </summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <typeparam name="TOptions">Its options type.</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    public LuthienControlBuilder AddPolicy<TPolicy, TOptions>(string typeName)
        where TPolicy : ControlPolicy
        where TOptions : PolicyOptions, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        return ConfigureRegistry(registry => registry.Register<TOptions>(typeName, (options, services) =>
            ActivatorUtilities.CreateInstance<TPolicy>(services, options)));
    }

    /// <summary>Registers a policy type with a factory of your own.</summary>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="factory">Builds the policy from its config.</param>
    public LuthienControlBuilder AddPolicy(string typeName, Func<PolicyConfig, ControlPolicy> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        return ConfigureRegistry(registry => registry.Register(typeName, factory));
    }

    /// <summary>
    /// Uses the policy in this file as the root policy (overrides <c>Luthien:PolicyFile</c>). The file is watched and
    /// loaded again when it changes, unless <see cref="LuthienOptions.ReloadPolicyFile"/> is off.
    /// </summary>
    /// <param name="path">The policy file's path.</param>
    public LuthienControlBuilder UsePolicyFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Services.Configure<LuthienOptions>(o => o.PolicyFile = path);
        return this;
    }

    /// <summary>Uses a policy built in code as the root policy, instead of a policy file or the default chain.</summary>
    /// <param name="factory">Builds the root policy; called once, at start (a root built in code is never reloaded).</param>
    public LuthienControlBuilder UsePolicy(Func<IServiceProvider, ControlPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(new RootPolicyFactory(factory));
        return this;
    }

    private LuthienControlBuilder ConfigureRegistry(Action<PolicyRegistry> configure)
    {
        Services.AddSingleton(new PolicyRegistration(configure));
        return this;
    }
}

/// <summary>A host's addition to the policy registry.</summary>
internal sealed record PolicyRegistration(Action<PolicyRegistry> Configure);

/// <summary>A root policy built in code.</summary>
internal sealed record RootPolicyFactory(Func<IServiceProvider, ControlPolicy> Create);
