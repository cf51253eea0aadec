using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control;

/// <summary>
/// The root chain built in code with <see cref="LuthienControlBuilder.UsePolicies"/>: policies in the order they run,
/// each named by its policy-file <c>type</c> or by its class, with the <c>config</c> a policy file would give it. No
/// constructor is called here: the chain is built at start through the policy registry, with the application's
/// services, and validated as a policy file is.
/// </summary>
/// <remarks>
/// A config is an object whose members are the policy's snake_case config keys: an anonymous object
/// (<c>new { model_mapping = … }</c>), the policy's options class (<c>new MaxTokensCapOptions { MaxTokens = 512 }</c>,
/// written snake_case), a dictionary, a <see cref="JsonObject"/> or <see cref="JsonElement"/>, or a string of JSON.
/// </remarks>
public sealed class PolicyChainBuilder
{
    /// <summary>How a config object is written: as a policy file spells it, unset members left out.</summary>
    private static readonly JsonSerializerOptions ConfigWriting = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    private readonly List<Func<IServiceProvider, PolicyRegistry, PolicyLoader, string, ControlPolicy>> _entries = [];

    internal PolicyChainBuilder()
    {
    }

    /// <summary>Adds the policy a policy file names <paramref name="typeName"/>, with an empty <c>config</c>.</summary>
    /// <param name="typeName">The policy's <c>type</c>, e.g. <c>SendBackendRequest</c>.</param>
    /// <returns>This builder.</returns>
    public PolicyChainBuilder Add(string typeName) => Add(typeName, null);

    /// <summary>Adds the policy a policy file names <paramref name="typeName"/> (a built-in or one registered with <c>AddPolicy</c>).</summary>
    /// <param name="typeName">The policy's <c>type</c>, e.g. <c>ModelNameReplacement</c>.</param>
    /// <param name="config">Its <c>config</c> (see the remarks of <see cref="PolicyChainBuilder"/>); <see langword="null"/> for none.</param>
    /// <returns>This builder.</returns>
    public PolicyChainBuilder Add(string typeName, object? config)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        var element = ToConfig(config);
        _entries.Add((_, _, loader, path) => loader.Load(typeName, element, path));
        return this;
    }

    /// <summary>Adds a policy by its class, with an empty <c>config</c>: e.g. <c>Add&lt;SendBackendRequestPolicy&gt;()</c>.</summary>
    /// <typeparam name="TPolicy">The policy class.</typeparam>
    /// <returns>This builder.</returns>
    public PolicyChainBuilder Add<TPolicy>()
        where TPolicy : ControlPolicy => Add<TPolicy>(null);

    /// <summary>
    /// Adds a policy by its class: a built-in (<c>Add&lt;SendBackendRequestPolicy&gt;()</c>) or one registered with
    /// <c>AddPolicy</c> is built as its registration says; any other class as <c>AddPolicy&lt;TPolicy&gt;</c> would build it
    /// (its options found from its constructor, its other parameters from the application's services).
    /// </summary>
    /// <typeparam name="TPolicy">The policy class.</typeparam>
    /// <param name="config">Its <c>config</c> (see the remarks of <see cref="PolicyChainBuilder"/>); <see langword="null"/> for none.</param>
    /// <returns>This builder.</returns>
    public PolicyChainBuilder Add<TPolicy>(object? config)
        where TPolicy : ControlPolicy
    {
        var element = ToConfig(config);
        _entries.Add((_, registry, loader, path) =>
        {
            if (registry.TryGetTypeName(typeof(TPolicy), out var typeName) && registry.TryGetFactory(typeName, out var factory))
            {
                return loader.LoadWith(factory, typeName, element, path);
            }

            Func<PolicyConfig, ControlPolicy> own;
            try
            {
                own = PolicyActivation.Factory(typeof(TPolicy), typeof(TPolicy).Name);
            }
            catch (ArgumentException ex)
            {
                throw new PolicyLoadException($"{ex.Message} (at {path})", ex);
            }

            return loader.LoadWith(own, typeof(TPolicy).Name, element, path);
        });
        return this;
    }

    /// <summary>
    /// Adds a policy you build yourself, with the application's services. It is checked with the rest of the chain as
    /// a policy of your own: assumed able to answer.
    /// </summary>
    /// <param name="factory">Builds the policy, once, at start.</param>
    /// <returns>This builder.</returns>
    public PolicyChainBuilder Add(Func<IServiceProvider, ControlPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _entries.Add((services, _, _, path) =>
        {
            var policy = factory(services) ?? throw new PolicyLoadException($"The policy at {path}: its factory returned no policy.");
            policy.DefinitionPath ??= path;
            return policy;
        });
        return this;
    }

    /// <summary>Builds the chain with the application's services and policy registry.</summary>
    internal ControlPolicy Build(IServiceProvider services)
    {
        var registry = services.GetRequiredService<PolicyRegistry>();
        var loader = new PolicyLoader(registry, services);
        var policies = new List<ControlPolicy>(_entries.Count);
        for (var i = 0; i < _entries.Count; i++)
        {
            policies.Add(_entries[i](services, registry, loader, $"$.policies[{i}]"));
        }

        return new SerialPolicy(policies) { Name = "root", DefinitionPath = "$" };
    }

    private static JsonElement ToConfig(object? config) => config switch
    {
        null => JsonSerializer.SerializeToElement(new JsonObject()),
        JsonElement element => element.Clone(),
        JsonNode node => JsonSerializer.SerializeToElement(node),
        string json => ParseConfig(json),
        _ => JsonSerializer.SerializeToElement(config, config.GetType(), ConfigWriting),
    };

    private static JsonElement ParseConfig(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The config is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).", nameof(json), ex);
        }
    }
}
