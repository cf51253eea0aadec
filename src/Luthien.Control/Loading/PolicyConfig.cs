using System.Text.Json;

namespace Luthien.Control;

/// <summary>The <c>config</c> of one policy in a policy file, with what a factory needs to build the policy.</summary>
public sealed class PolicyConfig
{
    private readonly PolicyLoader _loader;

    internal PolicyConfig(string typeName, JsonElement config, string path, IServiceProvider services, PolicyLoader loader)
    {
        TypeName = typeName;

        // The loader's document is disposed once the file is loaded: a policy that keeps its config must still read it.
        Config = config.Clone();
        Path = path;
        Services = services;
        _loader = loader;
    }

    /// <summary>The policy's registered type name.</summary>
    public string TypeName { get; }

    /// <summary>The <c>config</c> object.</summary>
    public JsonElement Config { get; }

    /// <summary>Where this policy stands in the file, as a JSON path (e.g. <c>$.config.policies[2]</c>).</summary>
    public string Path { get; }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services { get; }

    /// <summary>The <c>name</c> in the config, or the type name.</summary>
    public string Name => Config.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : TypeName;

    /// <summary>
    /// Binds the config to <typeparamref name="TOptions"/> (snake_case keys; unknown keys and wrong types are errors).
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <exception cref="PolicyLoadException">The config does not fit; the message names the policy and the field.</exception>
    public TOptions Bind<TOptions>()
        where TOptions : PolicyOptions, new() =>
        Bind((System.Text.Json.Serialization.Metadata.JsonTypeInfo<TOptions>)LuthienJson.ConfigOptions.GetTypeInfo(typeof(TOptions)));

    /// <summary>
    /// Binds the config with given (typically source-generated) metadata, which should follow the same rules: snake_case
    /// keys, unknown keys refused.
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="typeInfo">The metadata, e.g. from a <see cref="System.Text.Json.Serialization.JsonSerializerContext"/>.</param>
    /// <exception cref="PolicyLoadException">The config does not fit; the message names the policy and the field.</exception>
    public TOptions Bind<TOptions>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<TOptions> typeInfo)
        where TOptions : PolicyOptions, new()
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return (TOptions?)Bind((System.Text.Json.Serialization.Metadata.JsonTypeInfo)typeInfo) ?? new TOptions();
    }

    /// <summary>Binds the config to an options type known only at run time (a policy's constructor names it).</summary>
    /// <param name="optionsType">A <see cref="PolicyOptions"/> type with a parameterless constructor.</param>
    internal PolicyOptions Bind(Type optionsType) =>
        (PolicyOptions?)Bind(LuthienJson.ConfigOptions.GetTypeInfo(optionsType)) ?? (PolicyOptions)Activator.CreateInstance(optionsType)!;

    private object? Bind(System.Text.Json.Serialization.Metadata.JsonTypeInfo typeInfo)
    {
        try
        {
            return Config.Deserialize(typeInfo);
        }
        catch (JsonException ex)
        {
            if (UnknownField(typeInfo) is { } unknown)
            {
                var known = string.Join(", ", typeInfo.Properties.Select(p => $"'{p.Name}'").Order(StringComparer.Ordinal));
                throw Error($"field '{unknown}' is not one of its fields ({known}).", ex);
            }

            var field = ex.Path is { Length: > 1 } p ? p.TrimStart('$', '.') : null;
            var detail = Expected(ex.Message) ?? ex.Message.Split(" Path:", 2)[0];
            throw Error(field is null ? detail : $"field '{field}': {detail}", ex);
        }
    }

    /// <summary>
    /// What a field of the wrong JSON kind expects, in a policy file's words rather than the serializer's .NET type
    /// names ("could not be converted to System.Int32"); <see langword="null"/> for any other failure.
    /// </summary>
    private static string? Expected(string message)
    {
        const string Prefix = "The JSON value could not be converted to ";
        if (!message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var type = message.AsSpan(Prefix.Length).ToString().Split(". Path:", 2)[0].Split(' ', 2)[0].TrimEnd('.');
        var kind = type switch
        {
            "System.Int32" or "System.Int64" or "System.Int16" or "System.Byte" or "System.UInt32" or "System.UInt64" => "a whole number",
            "System.Double" or "System.Single" or "System.Decimal" => "a number",
            "System.Boolean" => "true or false",
            "System.String" => "a string",
            "System.TimeSpan" => "a duration string (\"00:00:30\")",
            _ when type.EndsWith("[]", StringComparison.Ordinal) || type.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) ||
                   type.StartsWith("System.Collections.Generic.IList", StringComparison.Ordinal) ||
                   type.StartsWith("System.Collections.Generic.IReadOnlyList", StringComparison.Ordinal) => "a list",
            _ when type.StartsWith("System.Collections.Generic.Dictionary", StringComparison.Ordinal) ||
                   type.StartsWith("System.Collections.Generic.IDictionary", StringComparison.Ordinal) ||
                   type.StartsWith("System.Collections.Generic.IReadOnlyDictionary", StringComparison.Ordinal) => "an object",
            _ => null,
        };
        return kind is null ? null : $"expects {kind}.";
    }

    /// <summary>
    /// The first top-level key the options do not have: the serializer's own message for it names the .NET type, not
    /// the policy, and does not say which keys would do.
    /// </summary>
    private string? UnknownField(System.Text.Json.Serialization.Metadata.JsonTypeInfo typeInfo)
    {
        if (Config.ValueKind != JsonValueKind.Object || typeInfo.Kind != System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object ||
            typeInfo.Properties.Any(p => p.IsExtensionData))
        {
            return null;
        }

        var comparison = typeInfo.Options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        return Config.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => !typeInfo.Properties.Any(p => comparison.Equals(p.Name, name)));
    }

    /// <summary>Loads a nested policy definition (<c>{"type","config"}</c>).</summary>
    /// <param name="definition">The nested definition.</param>
    /// <param name="relativePath">Its path relative to this config, e.g. <c>policies[0]</c>.</param>
    public ControlPolicy LoadNested(JsonElement definition, string relativePath) =>
        _loader.Load(definition, $"{Path}.config.{relativePath}");

    /// <summary>Creates an error that names this policy and <paramref name="detail"/>.</summary>
    /// <param name="detail">What is wrong, naming the field.</param>
    /// <param name="innerException">The cause.</param>
    public PolicyLoadException Error(string detail, Exception? innerException = null)
    {
        var message = $"Policy '{TypeName}' at {Path}: {detail}";
        return innerException is null ? new PolicyLoadException(message) : new PolicyLoadException(message, innerException);
    }
}
