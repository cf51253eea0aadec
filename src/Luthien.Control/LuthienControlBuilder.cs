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
    /// Registers a policy type so policy files (and <see cref="UsePolicies"/>) can name it. It is created with the
    /// application's services, and its constructor says what its <c>config</c> is: a parameter deriving from
    /// <see cref="PolicyOptions"/> gets the config bound to that type (snake_case keys, unknown keys refused at start);
    /// a <see cref="PolicyConfig"/> parameter gets the raw config, to read as it likes; with neither, the config may
    /// hold only <c>name</c>, and any other key stops the app at start naming it.
    /// </summary>
    /// <remarks>
    /// A constructor parameter nobody registered as a service stops the app at start with a message naming the policy
    /// entry and the missing type. A policy that reads a raw <see cref="PolicyConfig"/> is handed whatever keys the
    /// file has: call <see cref="PolicyConfig.Bind{TOptions}()"/> in it to have unknown keys refused as well.
    /// </remarks>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <exception cref="ArgumentException">
    /// <typeparamref name="TPolicy"/> has no public constructor, or its constructors take more than one options type
    /// (then say which with <see cref="AddPolicy{TPolicy, TOptions}(string)"/>).
    /// </exception>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddPolicy&lt;MyAuditPolicy&gt;("MyAuditPolicy")
    ///     .AddPolicy&lt;MaxTokensCapPolicy&gt;("MaxTokensCap");   // its constructor takes MaxTokensCapOptions
    /// </code>
    /// </example>
    public LuthienControlBuilder AddPolicy<TPolicy>(string typeName)
        where TPolicy : ControlPolicy
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        var factory = PolicyActivation.Factory(typeof(TPolicy), typeName);
        return ConfigureRegistry(registry => registry.Register(typeName, factory).RegisterType(typeof(TPolicy), typeName));
    }

    /// <summary>
    /// Registers a policy type whose <c>config</c> binds to <typeparamref name="TOptions"/> (snake_case keys, unknown
    /// keys rejected at start). The options are passed to its constructor with the application's services.
    /// <see cref="AddPolicy{TPolicy}(string)"/> finds the options type from the constructor by itself; this overload
    /// says it where the constructors take more than one.
    /// </summary>
    /// <typeparam name="TPolicy">The policy type.</typeparam>
    /// <typeparam name="TOptions">Its options type.</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    public LuthienControlBuilder AddPolicy<TPolicy, TOptions>(string typeName)
        where TPolicy : ControlPolicy
        where TOptions : PolicyOptions, new()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        var factory = PolicyActivation.Factory(typeof(TPolicy), typeName, typeof(TOptions));
        return ConfigureRegistry(registry => registry.Register(typeName, factory).RegisterType(typeof(TPolicy), typeName));
    }

    /// <summary>
    /// Registers a policy type with a factory of your own. The factory reads the <c>config</c> as it likes; call
    /// <see cref="PolicyConfig.Bind{TOptions}()"/> in it to have unknown keys refused at start as the built-ins do, and
    /// throw <see cref="PolicyConfig.Error"/> for what it finds wrong, so the message names the policy entry.
    /// </summary>
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

    /// <summary>
    /// Uses a policy built in code as the root policy, instead of a policy file or the default chain. It is checked at
    /// start as a policy file is (a request must be able to get a response on every path through it).
    /// <see cref="UsePolicies"/> builds the usual chain without knowing any policy's constructor.
    /// </summary>
    /// <param name="factory">Builds the root policy; called once, at start (a root built in code is never reloaded).</param>
    public LuthienControlBuilder UsePolicy(Func<IServiceProvider, ControlPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.AddSingleton(new RootPolicyFactory(factory));
        return this;
    }

    /// <summary>
    /// Uses a chain built in code as the root policy, instead of a policy file or the default chain: the policies run
    /// in the order they are added, as a policy file's <c>SerialPolicy</c> list does. Policies are added by their
    /// policy-file name or by their class (built-ins and those registered with <c>AddPolicy</c>), with the config a
    /// policy file would give them, and are built at start through the same registry, so every mistake a policy file
    /// would be refused for (an unknown type or key, a missing service, a chain that cannot answer) stops the app with
    /// a message naming the entry as <c>$.policies[i]</c>, <c>i</c> counting the <c>Add</c> calls from 0.
    /// </summary>
    /// <param name="configure">Adds the policies.</param>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl()
    ///     .AddPolicy&lt;MaxTokensCapPolicy&gt;("MaxTokensCap")
    ///     .UsePolicies(chain =&gt; chain
    ///         .Add&lt;ClientApiKeyAuthPolicy&gt;(new { keys = new[] { "client-key-1" } })
    ///         .Add("ModelNameReplacement", new { model_mapping = new Dictionary&lt;string, string&gt; { ["fast"] = "gpt-4o-mini" } })
    ///         .Add&lt;MaxTokensCapPolicy&gt;(new MaxTokensCapOptions { MaxTokens = 512 })
    ///         .Add&lt;TransactionContextLoggingPolicy&gt;()
    ///         .Add&lt;SendBackendRequestPolicy&gt;());
    /// </code>
    /// </example>
    public LuthienControlBuilder UsePolicies(Action<PolicyChainBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var chain = new PolicyChainBuilder();
        configure(chain);
        Services.AddSingleton(new RootPolicyFactory(chain.Build));
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
