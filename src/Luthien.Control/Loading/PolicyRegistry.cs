namespace Luthien.Control;

/// <summary>
/// Maps the <c>type</c> names of a policy file to factories. The built-ins are registered by the hosting layer;
/// host apps add their own with <c>AddPolicy&lt;T&gt;(name)</c>.
/// </summary>
internal sealed class PolicyRegistry
{
    private readonly Dictionary<string, Func<PolicyConfig, ControlPolicy>> _factories = new(StringComparer.Ordinal);

    /// <summary>The type name each policy class was first registered under, so a chain built in code can add it by type.</summary>
    private readonly Dictionary<Type, string> _typeNames = [];

    /// <summary>The registered type names.</summary>
    public IReadOnlyCollection<string> TypeNames => _factories.Keys;

    /// <summary>Registers a factory under a type name, replacing any earlier one.</summary>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="factory">Builds the policy from its config.</param>
    public PolicyRegistry Register(string typeName, Func<PolicyConfig, ControlPolicy> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[typeName] = factory;
        return this;
    }

    /// <summary>Registers a policy whose config binds to <typeparamref name="TOptions"/>.</summary>
    /// <typeparam name="TOptions">The options type (snake_case keys in the file).</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="factory">Builds the policy from its options and the application's services.</param>
    public PolicyRegistry Register<TOptions>(string typeName, Func<TOptions, IServiceProvider, ControlPolicy> factory)
        where TOptions : PolicyOptions, new() => Register(typeName, null, factory);

    /// <summary>Registers a policy whose config binds to <typeparamref name="TOptions"/> with given metadata.</summary>
    /// <typeparam name="TOptions">The options type (snake_case keys in the file).</typeparam>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="typeInfo">
    /// Metadata for <typeparamref name="TOptions"/> (e.g. source-generated, with snake_case names and unknown members
    /// refused), or <see langword="null"/> for the library's reflection-based default.
    /// </param>
    /// <param name="factory">Builds the policy from its options and the application's services.</param>
    public PolicyRegistry Register<TOptions>(string typeName, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TOptions>? typeInfo, Func<TOptions, IServiceProvider, ControlPolicy> factory)
        where TOptions : PolicyOptions, new()
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Register(typeName, config =>
        {
            var options = typeInfo is null ? config.Bind<TOptions>() : config.Bind(typeInfo);
            ControlPolicy policy;
            try
            {
                policy = factory(options, config.Services);
            }
            catch (ArgumentException ex)
            {
                throw config.Error(ex.Message, ex);
            }

            policy.Name = options.Name ?? typeName;
            return policy;
        });
    }

    /// <summary>Says which policy class a type name builds, so that code can add it by its class.</summary>
    /// <param name="policyType">The policy class.</param>
    /// <param name="typeName">The <c>type</c> used in policy files; the first one registered for a class is kept.</param>
    public PolicyRegistry RegisterType(Type policyType, string typeName)
    {
        ArgumentNullException.ThrowIfNull(policyType);
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        _typeNames.TryAdd(policyType, typeName);
        return this;
    }

    /// <summary>Finds the type name a policy class is registered under.</summary>
    /// <param name="policyType">The policy class.</param>
    /// <param name="typeName">The <c>type</c> used in policy files, if registered.</param>
    public bool TryGetTypeName(Type policyType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? typeName) =>
        _typeNames.TryGetValue(policyType, out typeName);

    /// <summary>Finds the factory for a type name.</summary>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="factory">The factory, if registered.</param>
    public bool TryGetFactory(string typeName, out Func<PolicyConfig, ControlPolicy> factory) =>
        _factories.TryGetValue(typeName, out factory!);
}
