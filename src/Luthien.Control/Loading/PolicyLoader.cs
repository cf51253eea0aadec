using System.Text.Json;

namespace Luthien.Control;

/// <summary>
/// Loads policies from luthien_control's serialized form: <c>{"type": "...", "config": {...}}</c>, nested for
/// composite policies. Everything is validated when loading, so a bad file fails at start, never at first use.
/// </summary>
internal sealed class PolicyLoader
{
    /// <summary>
    /// luthien_control policy types a file of theirs may name that this library does not implement, with why. Its dev
    /// branch's types are all implemented; these come from older branches.
    /// </summary>
    private static readonly Dictionary<string, string> NotImplementedLuthienPolicies = new(StringComparer.Ordinal)
    {
        ["TxLoggingPolicy"] =
            "It is a luthien_control policy (older branches) this library does not implement: it wrote chosen parts of each " +
            "transaction to the luthien_log table, which here the audit log does for every transaction when " +
            "Luthien:TransactionLog:Provider is set. Remove it from the file.",
    };

    private readonly PolicyRegistry _registry;
    private readonly IServiceProvider _services;

    /// <summary>Creates a loader.</summary>
    /// <param name="registry">The registered policy types.</param>
    /// <param name="services">The application's services, handed to policy factories.</param>
    public PolicyLoader(PolicyRegistry registry, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(services);
        _registry = registry;
        _services = services;
    }

    /// <summary>Loads the policy in a JSON file.</summary>
    /// <param name="path">The file's path.</param>
    /// <exception cref="PolicyLoadException">The file is missing, not JSON, or a policy in it is invalid.</exception>
    public ControlPolicy LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PolicyLoadException($"Policy file '{path}' could not be read: {ex.Message}", ex);
        }

        try
        {
            return LoadJson(text);
        }
        catch (PolicyLoadException ex)
        {
            throw new PolicyLoadException($"Policy file '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>Loads a policy from JSON text.</summary>
    /// <param name="json">The serialized policy.</param>
    /// <exception cref="PolicyLoadException">The JSON is invalid or a policy in it is.</exception>
    public ControlPolicy LoadJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new PolicyLoadException($"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).", ex);
        }

        using (doc)
        {
            return Load(doc.RootElement, "$");
        }
    }

    /// <summary>Loads one policy definition.</summary>
    /// <param name="definition">A <c>{"type","config"}</c> object.</param>
    /// <param name="path">Where it stands, as a JSON path, for error messages.</param>
    /// <exception cref="PolicyLoadException">The definition is invalid.</exception>
    public ControlPolicy Load(JsonElement definition, string path)
    {
        if (definition.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyLoadException($"The policy at {path} must be an object with 'type' and 'config'.");
        }

        if (!definition.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String ||
            typeElement.GetString() is not { Length: > 0 } typeName)
        {
            throw new PolicyLoadException($"The policy at {path} has no 'type' string.");
        }

        return LoadWith(FactoryFor(typeName, path), typeName, ReadConfig(definition, typeName, path), path);
    }

    /// <summary>Builds the policy registered as <paramref name="typeName"/> from its config, as <see cref="Load(JsonElement, string)"/> does.</summary>
    /// <param name="typeName">The <c>type</c> used in policy files.</param>
    /// <param name="config">The <c>config</c> object.</param>
    /// <param name="path">Where it stands, as a JSON path, for error messages.</param>
    /// <exception cref="PolicyLoadException">The type is not registered, or the config is invalid.</exception>
    public ControlPolicy Load(string typeName, JsonElement config, string path) =>
        LoadWith(FactoryFor(typeName, path), typeName, config, path);

    private Func<PolicyConfig, ControlPolicy> FactoryFor(string typeName, string path)
    {
        if (_registry.TryGetFactory(typeName, out var factory))
        {
            return factory;
        }

        var known = string.Join(", ", _registry.TypeNames.Order(StringComparer.Ordinal));
        var why = NotImplementedLuthienPolicies.TryGetValue(typeName, out var reason) ? $" {reason}"
            // Type names are matched exactly, as luthien_control does: a different casing is the likeliest typo.
            : _registry.TypeNames.FirstOrDefault(n => string.Equals(n, typeName, StringComparison.OrdinalIgnoreCase)) is { } cased
                ? $" Did you mean '{cased}'? Type names are case-sensitive."
                : "";
        throw new PolicyLoadException($"Unknown policy type '{typeName}' at {path}.{why} Registered types: {known}.");
    }

    /// <summary>Builds one policy with a given factory, as <see cref="Load(JsonElement, string)"/> does with a registered one.</summary>
    /// <param name="factory">Builds the policy from its config.</param>
    /// <param name="typeName">The type name messages use.</param>
    /// <param name="config">The <c>config</c> object.</param>
    /// <param name="path">Where it stands, as a JSON path, for error messages.</param>
    /// <exception cref="PolicyLoadException">The config is invalid.</exception>
    public ControlPolicy LoadWith(Func<PolicyConfig, ControlPolicy> factory, string typeName, JsonElement config, string path)
    {
        if (config.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyLoadException($"Policy '{typeName}' at {path}: 'config' must be an object.");
        }

        var policy = factory(new PolicyConfig(typeName, config, path, _services, this)) ??
            throw new PolicyLoadException($"Policy '{typeName}' at {path}: its factory returned no policy.");
        policy.DefinitionPath = path;
        return policy;
    }

    private static JsonElement ReadConfig(JsonElement definition, string typeName, string path)
    {
        if (definition.TryGetProperty("config", out var config))
        {
            if (config.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyLoadException($"Policy '{typeName}' at {path}: 'config' must be an object.");
            }

            // luthien_control accepts a legacy top-level "name"; carry it into the config when the config has none.
            if (definition.TryGetProperty("name", out var legacyName) && !config.TryGetProperty("name", out _))
            {
                return Merge(config, legacyName);
            }

            return config;
        }

        // Legacy flat form: {"type": "X", "name": "...", "field": ...} with no "config".
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in definition.EnumerateObject())
            {
                if (property.NameEquals("type"))
                {
                    continue;
                }

                property.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return CloneFrom(buffer);
    }

    private static JsonElement Merge(JsonElement config, JsonElement name)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("name");
            name.WriteTo(writer);
            foreach (var property in config.EnumerateObject())
            {
                property.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return CloneFrom(buffer);
    }

    private static JsonElement CloneFrom(MemoryStream buffer)
    {
        using var doc = JsonDocument.Parse(buffer.ToArray());
        return doc.RootElement.Clone();
    }
}
