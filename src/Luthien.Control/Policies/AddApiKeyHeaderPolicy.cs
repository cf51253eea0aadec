
namespace Luthien.Control;

/// <summary>
/// Sends the configured backend key (<c>Luthien:Backend:ApiKey</c>, else <c>OPENAI_API_KEY</c>) as
/// <c>Authorization: Bearer …</c>. Fails with 500 when no key is configured.
/// </summary>
public sealed class AddApiKeyHeaderPolicy : ControlPolicy, ISecretPatterns
{
    private readonly string? _apiKey;

    /// <summary>Creates the policy.</summary>
    /// <param name="apiKey">The backend key.</param>
    public AddApiKeyHeaderPolicy(string? apiKey) => _apiKey = apiKey;

    /// <inheritdoc />
    /// <remarks>The key, literally: a backend that echoes it does not put it in the audit log.</remarks>
    IEnumerable<string> ISecretPatterns.SecretPatterns =>
        string.IsNullOrEmpty(_apiKey) ? [] : [System.Text.RegularExpressions.Regex.Escape(_apiKey)];

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (string.IsNullOrEmpty(_apiKey))
        {
            throw ControlFailureException.Internal($"No backend API key is configured ({Name}).");
        }

        transaction.Request.BackendApiKey = _apiKey;
        return next(transaction, cancellationToken);
    }
}

/// <summary>Options of <see cref="AddApiKeyHeaderFromEnvPolicy"/> (<c>AddApiKeyHeaderFromEnv</c> in policy files).</summary>
internal sealed class AddApiKeyHeaderFromEnvOptions : PolicyOptions
{
    /// <summary>The environment variable that holds the backend key.</summary>
    public string? ApiKeyEnvVarName { get; set; }
}

/// <summary>
/// Sends the key held in an environment variable to the backend as <c>Authorization: Bearer …</c>. The variable is
/// read on every request, so a rotated key is picked up; an unset variable fails with 500 naming the variable (not its value).
/// </summary>
public sealed class AddApiKeyHeaderFromEnvPolicy : ControlPolicy, ISecretPatterns
{
    /// <summary>Creates the policy.</summary>
    /// <param name="apiKeyEnvVarName">The environment variable's name.</param>
    public AddApiKeyHeaderFromEnvPolicy(string apiKeyEnvVarName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKeyEnvVarName, "api_key_env_var_name");
        ApiKeyEnvVarName = apiKeyEnvVarName;
    }

    /// <summary>The environment variable's name.</summary>
    public string ApiKeyEnvVarName { get; }

    /// <inheritdoc />
    /// <remarks>The key the variable holds when the audit log's mask is made, literally.</remarks>
    IEnumerable<string> ISecretPatterns.SecretPatterns =>
        Environment.GetEnvironmentVariable(ApiKeyEnvVarName) is { Length: > 0 } key ? [System.Text.RegularExpressions.Regex.Escape(key)] : [];

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var key = Environment.GetEnvironmentVariable(ApiKeyEnvVarName);
        if (string.IsNullOrEmpty(key))
        {
            throw ControlFailureException.Internal($"API key not found: environment variable '{ApiKeyEnvVarName}' is not set or is empty ({Name}).");
        }

        transaction.Request.BackendApiKey = key;
        return next(transaction, cancellationToken);
    }
}
