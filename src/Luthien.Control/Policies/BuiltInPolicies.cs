using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>Registers the built-in policies under luthien_control's type names.</summary>
internal static class BuiltInPolicies
{
    /// <summary>Registers <c>SerialPolicy</c> (and its legacy alias <c>CompoundPolicy</c>), <c>BranchingPolicy</c>,
    /// <c>ClientApiKeyAuth</c>, <c>AddApiKeyHeader</c>, <c>AddApiKeyHeaderFromEnv</c>, <c>ModelNameReplacement</c>,
    /// <c>LeakedApiKeyDetection</c>, <c>NoopPolicy</c>, <c>SetBackendPolicy</c>, <c>SendBackendRequest</c> and
    /// <c>BackendCallPolicy</c>. The
    /// response-side built-ins (<c>TransactionContextLoggingPolicy</c>, <c>ResponseContentPolicy</c>, <c>ToolCallPolicy</c>)
    /// live in <c>Luthien.Control.Streaming</c>.</summary>
    /// <param name="registry">The registry to add them to.</param>
    public static PolicyRegistry AddBuiltInPolicies(this PolicyRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Register("SerialPolicy", LoadSerial);
        registry.Register("CompoundPolicy", LoadSerial);
        registry.Register("BranchingPolicy", LoadBranching);
        registry.Register<ClientApiKeyAuthOptions>(ClientApiKeyAuthPolicy.TypeName, CreateClientApiKeyAuth);
        registry.Register<PolicyOptions>("AddApiKeyHeader", static (_, s) =>
            new AddApiKeyHeaderPolicy(s.GetService<IOptions<LuthienOptions>>()?.Value.Backend.ApiKey));
        registry.Register<AddApiKeyHeaderFromEnvOptions>("AddApiKeyHeaderFromEnv", static (o, _) =>
            new AddApiKeyHeaderFromEnvPolicy(o.ApiKeyEnvVarName ?? throw new ArgumentException("field 'api_key_env_var_name' is required.")));
        registry.Register<ModelNameReplacementOptions>("ModelNameReplacement", static (o, _) => new ModelNameReplacementPolicy(o.ModelMapping));
        registry.Register<LeakedApiKeyDetectionOptions>("LeakedApiKeyDetection", static (o, s) =>
            new LeakedApiKeyDetectionPolicy(o.Patterns, s.GetService<ILogger<LeakedApiKeyDetectionPolicy>>()));
        registry.Register<PolicyOptions>("NoopPolicy", static (_, _) => new NoopPolicy());
        registry.Register<SetBackendOptions>("SetBackendPolicy", static (o, _) => new SetBackendPolicy(o.BackendUrl));
        registry.Register<PolicyOptions>("SendBackendRequest", static (_, s) => new SendBackendRequestPolicy(s.GetRequiredService<IBackendClient>()));
        registry.Register<BackendCallOptions>(BackendCallPolicy.TypeName, CreateBackendCall);
        registry.RegisterType(typeof(SerialPolicy), "SerialPolicy")
            .RegisterType(typeof(BranchingPolicy), "BranchingPolicy")
            .RegisterType(typeof(ClientApiKeyAuthPolicy), ClientApiKeyAuthPolicy.TypeName)
            .RegisterType(typeof(AddApiKeyHeaderPolicy), "AddApiKeyHeader")
            .RegisterType(typeof(AddApiKeyHeaderFromEnvPolicy), "AddApiKeyHeaderFromEnv")
            .RegisterType(typeof(ModelNameReplacementPolicy), "ModelNameReplacement")
            .RegisterType(typeof(LeakedApiKeyDetectionPolicy), "LeakedApiKeyDetection")
            .RegisterType(typeof(NoopPolicy), "NoopPolicy")
            .RegisterType(typeof(SetBackendPolicy), "SetBackendPolicy")
            .RegisterType(typeof(SendBackendRequestPolicy), "SendBackendRequest")
            .RegisterType(typeof(BackendCallPolicy), BackendCallPolicy.TypeName);
        return registry;
    }

    /// <summary>
    /// Builds <c>ClientApiKeyAuth</c>. Without <c>keys</c> or <c>source</c> it does what luthien_control does, which
    /// reads client keys from its database: the store's keys when one is configured; with none, the file cannot work as
    /// written, so it fails at start naming what to configure rather than refusing every request.
    /// </summary>
    private static ControlPolicy CreateClientApiKeyAuth(ClientApiKeyAuthOptions o, IServiceProvider s)
    {
        var logger = s.GetService<ILogger<ClientApiKeyAuthPolicy>>();
        var store = s.GetService<ClientKeyCache>() is { HasStore: true } cache ? cache : null;
        switch (o.Source?.ToLowerInvariant())
        {
            case null or "" when o.Keys is null:
                return store is not null
                    ? new ClientApiKeyAuthPolicy(store, logger)
                    : throw new ArgumentException(
                        "no 'keys' are configured and there is no database to read client keys from (luthien_control reads them from its database). " +
                        "Either list the accepted keys in its config (\"keys\": [\"…\"]), or configure the store: set Luthien:TransactionLog:Provider " +
                        "(Sqlite or PostgreSql) and Luthien:TransactionLog:ConnectionString, and create keys in the admin area (\"source\": \"database\" says so explicitly).");
            case null or "" or "config":
                return new ClientApiKeyAuthPolicy(o.Keys ?? throw new ArgumentException("field 'keys' is required when 'source' is 'config'."), logger);
            case "database" when o.Keys is { Count: > 0 }:
                throw new ArgumentException("field 'keys' must be empty when 'source' is 'database' (keys live in the database).");
            case "database":
                return store is not null
                    ? new ClientApiKeyAuthPolicy(store, logger)
                    : throw new ArgumentException("field 'source' is 'database', but no database is configured: set Luthien:TransactionLog:Provider (Sqlite or PostgreSql) and its ConnectionString.");
            default:
                throw new ArgumentException($"field 'source' must be 'config' or 'database' (got '{o.Source}').");
        }
    }

    /// <summary>Builds <c>BackendCallPolicy</c> from luthien_control's <c>backend_call_spec</c>.</summary>
    private static ControlPolicy CreateBackendCall(BackendCallOptions o, IServiceProvider s)
    {
        var spec = o.BackendCallSpec ?? throw new ArgumentException(
            "field 'backend_call_spec' is required: an object with 'model', 'api_endpoint', 'api_key_env_var' and 'request_args' (each optional).");
        Uri? endpoint = null;
        if (spec.ApiEndpoint is not null &&
            (!Uri.TryCreate(spec.ApiEndpoint, UriKind.Absolute, out endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"field 'backend_call_spec.api_endpoint': '{spec.ApiEndpoint}' is not an absolute http or https URL (the backend's base URL with its version segment, e.g. https://api.openai.com/v1).");
        }

        if (spec.ApiKeyEnvVar is not null && string.IsNullOrWhiteSpace(spec.ApiKeyEnvVar))
        {
            throw new ArgumentException("field 'backend_call_spec.api_key_env_var' must name an environment variable.");
        }

        if (spec.RequestArgs?.FirstOrDefault(a => a.Key is "stream" or "stream_options") is { Key: { } refused })
        {
            throw new ArgumentException($"field 'backend_call_spec.request_args' may not set '{refused}': the client decides whether its answer is streamed.");
        }

        return new BackendCallPolicy(s.GetRequiredService<IBackendClient>(), spec.Model, endpoint, spec.ApiKeyEnvVar, spec.RequestArgs);
    }

    private static ControlPolicy LoadSerial(PolicyConfig config)
    {
        var policies = new List<ControlPolicy>();
        foreach (var property in config.Config.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name" or "type":
                    break;
                case "policies":
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw config.Error("field 'policies' must be an array.");
                    }

                    var i = 0;
                    foreach (var member in property.Value.EnumerateArray())
                    {
                        policies.Add(config.LoadNested(member, $"policies[{i++}]"));
                    }

                    break;
                default:
                    throw config.Error($"field '{property.Name}' is not a SerialPolicy field (expected 'policies', 'name').");
            }
        }

        if (!config.Config.TryGetProperty("policies", out _))
        {
            throw config.Error("field 'policies' is required.");
        }

        return new SerialPolicy(policies) { Name = config.Name };
    }

    private static ControlPolicy LoadBranching(PolicyConfig config)
    {
        var branches = new List<KeyValuePair<Condition, ControlPolicy>>();
        ControlPolicy? defaultPolicy = null;
        foreach (var property in config.Config.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name" or "type":
                    break;
                case "cond_to_policy_map":
                    if (property.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw config.Error("field 'cond_to_policy_map' must be an object whose keys are conditions as JSON strings.");
                    }

                    foreach (var branch in property.Value.EnumerateObject())
                    {
                        Condition condition;
                        try
                        {
                            condition = ConditionParser.Parse(branch.Name);
                        }
                        catch (FormatException ex)
                        {
                            throw config.Error($"field 'cond_to_policy_map', key {branch.Name}: {ex.Message}", ex);
                        }

                        var policy = config.LoadNested(branch.Value, $"cond_to_policy_map[{JsonSerializer.Serialize(branch.Name)}]");
                        branches.Add(new(condition, policy));
                    }

                    break;
                case "default_policy":
                    if (property.Value.ValueKind != JsonValueKind.Null)
                    {
                        defaultPolicy = config.LoadNested(property.Value, "default_policy");
                    }

                    break;
                default:
                    throw config.Error($"field '{property.Name}' is not a BranchingPolicy field (expected 'cond_to_policy_map', 'default_policy', 'name').");
            }
        }

        return new BranchingPolicy(branches, defaultPolicy) { Name = config.Name };
    }
}
