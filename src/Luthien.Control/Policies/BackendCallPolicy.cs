using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Luthien.Control;

/// <summary>Options of <see cref="BackendCallPolicy"/> (<c>BackendCallPolicy</c> in policy files).</summary>
internal sealed class BackendCallOptions : PolicyOptions
{
    /// <summary>What to call: luthien_control's <c>BackendCallSpec</c>. Required.</summary>
    public BackendCallSpecOptions? BackendCallSpec { get; set; }
}

/// <summary>luthien_control's <c>BackendCallSpec</c>, with its defaults.</summary>
internal sealed class BackendCallSpecOptions
{
    /// <summary>The model every request is sent with; luthien_control's default <c>gpt-4o-mini</c>. Empty keeps the request's.</summary>
    public string Model { get; set; } = BackendCallPolicy.DefaultModel;

    /// <summary>The backend base URL, including its version segment; unset: the configured backend.</summary>
    public string? ApiEndpoint { get; set; }

    /// <summary>The environment variable holding the backend key; luthien_control's default <c>OPENAI_API_KEY</c>.</summary>
    public string ApiKeyEnvVar { get; set; } = BackendCallPolicy.DefaultApiKeyEnvVar;

    /// <summary>Members set on the request body before it is sent (e.g. <c>temperature</c>), replacing the client's.</summary>
    public JsonObject? RequestArgs { get; set; }
}

/// <summary>
/// luthien_control's <c>BackendCallPolicy</c>: sends the request to a backend of its own, with a model, a key read from an
/// environment variable and extra request members — <c>SetBackendPolicy</c>, <c>AddApiKeyHeaderFromEnv</c>, a model and
/// <c>SendBackendRequest</c> in one step. Then the rest of the pipeline runs with the answer, as after
/// <c>SendBackendRequest</c>. A pass-through request (models, embeddings, … as <c>Luthien:Passthrough:Allow</c> lets
/// through; luthien_control has none) goes to the same backend with the same key, its body unchanged: a chain ending in
/// this policy answers it, as one ending in <c>SendBackendRequest</c> does.
/// </summary>
/// <remarks>
/// The key is read on every request, so a rotated key is picked up; when the variable is unset or empty the key already
/// chosen (an earlier <c>AddApiKeyHeader…</c>, else <c>Luthien:Backend:ApiKey</c>) is sent — never the client's own.
/// The key is never logged, never written to the audit log and never put in an error.
/// </remarks>
public sealed class BackendCallPolicy : ControlPolicy, ISecretPatterns
{
    /// <summary>luthien_control's default model.</summary>
    internal const string DefaultModel = "gpt-4o-mini";

    /// <summary>luthien_control's default key variable.</summary>
    internal const string DefaultApiKeyEnvVar = "OPENAI_API_KEY";

    /// <summary>The policy's name in policy files.</summary>
    internal const string TypeName = "BackendCallPolicy";

    private readonly IBackendClient _backend;
    private readonly KeyValuePair<string, JsonNode?>[] _requestArgs;

    /// <summary>Creates the policy.</summary>
    /// <param name="backend">The backend client that sends the request.</param>
    /// <param name="model">The model every request is sent with; <see langword="null"/> or empty keeps the request's.</param>
    /// <param name="apiEndpoint">The backend base URL (absolute http or https, with its version segment); <see langword="null"/>: the configured backend.</param>
    /// <param name="apiKeyEnvVar">The environment variable holding the backend key; <see langword="null"/>: the key already chosen.</param>
    /// <param name="requestArgs">Members set on the request body, replacing the client's; <c>stream</c> and <c>stream_options</c> are refused.</param>
    /// <exception cref="ArgumentException">The endpoint is not an http(s) URL, the variable name is blank, or a request argument is refused.</exception>
    public BackendCallPolicy(IBackendClient backend, string? model = DefaultModel, Uri? apiEndpoint = null, string? apiKeyEnvVar = DefaultApiKeyEnvVar, IEnumerable<KeyValuePair<string, JsonNode?>>? requestArgs = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (apiEndpoint is not null && (!apiEndpoint.IsAbsoluteUri || (apiEndpoint.Scheme != Uri.UriSchemeHttp && apiEndpoint.Scheme != Uri.UriSchemeHttps)))
        {
            throw new ArgumentException($"api_endpoint '{apiEndpoint}' is not an absolute http or https URL.", nameof(apiEndpoint));
        }

        if (apiKeyEnvVar is not null && string.IsNullOrWhiteSpace(apiKeyEnvVar))
        {
            throw new ArgumentException("api_key_env_var must name an environment variable.", nameof(apiKeyEnvVar));
        }

        _requestArgs = [.. (requestArgs ?? []).Select(a => new KeyValuePair<string, JsonNode?>(a.Key, a.Value?.DeepClone()))];
        foreach (var (name, _) in _requestArgs)
        {
            // The client chose a streamed answer or not, and reads it in that shape: a policy cannot change it for them.
            if (name is "stream" or "stream_options")
            {
                throw new ArgumentException($"request_args may not set '{name}': the client decides whether its answer is streamed.", nameof(requestArgs));
            }
        }

        _backend = backend;
        Model = string.IsNullOrEmpty(model) ? null : model;
        ApiEndpoint = apiEndpoint;
        ApiKeyEnvVar = apiKeyEnvVar;
    }

    /// <summary>The model every request is sent with, or <see langword="null"/> to keep the request's.</summary>
    public string? Model { get; }

    /// <summary>The backend base URL, or <see langword="null"/> for the configured backend.</summary>
    public Uri? ApiEndpoint { get; }

    /// <summary>The environment variable holding the backend key, or <see langword="null"/>.</summary>
    public string? ApiKeyEnvVar { get; }

    /// <summary>The members set on the request body.</summary>
    public IReadOnlyList<KeyValuePair<string, JsonNode?>> RequestArgs => _requestArgs;

    /// <inheritdoc />
    /// <remarks>The key the variable holds when the audit log's mask is made, literally.</remarks>
    IEnumerable<string> ISecretPatterns.SecretPatterns =>
        ApiKeyEnvVar is not null && Environment.GetEnvironmentVariable(ApiKeyEnvVar) is { Length: > 0 } key ? [Regex.Escape(key)] : [];

    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(next);
        var request = transaction.Request;
        if (ApiKeyEnvVar is not null && Environment.GetEnvironmentVariable(ApiKeyEnvVar) is { Length: > 0 } key)
        {
            request.BackendApiKey = key;
        }

        if (ApiEndpoint is not null)
        {
            request.BackendUrl = ApiEndpoint;
        }

        if (request.Payload is { } payload)
        {
            foreach (var (name, value) in _requestArgs)
            {
                payload[name] = value?.DeepClone();
            }

            if (Model is not null)
            {
                request.Model = Model;
            }
        }

        transaction.RecordDecision(new PolicyDecision(TypeName, "send", request.Payload is null ? null : Model));
        await (transaction.HostBackend ?? _backend).SendAsync(transaction, cancellationToken).ConfigureAwait(false);
        await next(transaction, cancellationToken).ConfigureAwait(false);
    }
}
