using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// Builds the root policy at start, so that a bad policy file stops the app before it takes traffic, and says once how
/// the backend will be called where that is not plain (the SDK client's reach, an Azure backend without a key).
/// </summary>
internal sealed partial class LuthienStartupValidator(
    RootPolicyProvider provider,
    IOptions<LuthienOptions> options,
    IServiceProvider services,
    ILogger<LuthienStartupValidator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var root = provider.Root;
        var backend = options.Value.Backend;
        if (backend is { BaseUrl: { IsLoopback: false } remote, ApiKey: null or "" } &&
            services.GetService<LuthienEndpointsMarker>() is { Mapped: true } &&
            services.GetService<IBackendClient>() is HttpBackendClient &&
            services.GetService<BackendHandlerFactory>() is null &&
            !SetsBackendKeyOrUrl(root))
        {
            // Not a start failure (a server on the network may need no key), but clients' own keys are never forwarded,
            // so a backend that needs one answers every request 401 and the client is told its key is wrong.
            LogRemoteWithoutKey(logger, remote.Host);
        }

        if (backend.BaseUrl is { } baseUrl && baseUrl.AbsolutePath.Trim('/').Length == 0 &&
            BackendStyles.Resolve(baseUrl, backend.Style) == BackendStyle.OpenAI)
        {
            // Not a start failure (a server may serve its API at its root), but the usual mistake is a missing /v1, and the
            // backend's own 404 for it passes to clients as it came, saying nothing of the setting.
            LogBaseUrlWithoutPath(logger, baseUrl.Host);
        }

        if (backend.Client == BackendClientKind.Sdk)
        {
            LogSdkReach(logger);
            if (backend.BaseUrl is { } url && BackendStyles.Resolve(url, backend.Style) == BackendStyle.Azure &&
                string.IsNullOrEmpty(backend.ApiKey) && services.GetService<Azure.AI.OpenAI.AzureOpenAIClient>() is null)
            {
                // Not a start failure: a policy (AddApiKeyHeader, AddApiKeyHeaderFromEnv) may give each request its key.
                LogAzureWithoutKey(logger, SdkBackendClient.NoAzureKeyMessage);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Whether a built-in that gives requests a backend key or another backend stands anywhere in the chain.</summary>
    private static bool SetsBackendKeyOrUrl(ControlPolicy root) => PolicyTree.SelfAndDescendants(root)
        .Any(p => p is AddApiKeyHeaderPolicy or AddApiKeyHeaderFromEnvPolicy or BackendCallPolicy or SetBackendPolicy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien:Backend:ApiKey is not set and OPENAI_API_KEY is empty: requests go to the backend at {Host} without a key (clients' own keys are never forwarded), so one that needs a key answers each with 401. Set one of the two, or add the key per request with the AddApiKeyHeader or AddApiKeyHeaderFromEnv policy.")]
    private static partial void LogRemoteWithoutKey(ILogger logger, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien:Backend:BaseUrl (host {Host}) has no path: an OpenAI-compatible base URL includes its version segment, e.g. https://api.openai.com/v1, and requests go to <BaseUrl>/chat/completions. If the backend answers 404 to everything, add the segment.")]
    private static partial void LogBaseUrlWithoutPath(ILogger logger, string host);

    [LoggerMessage(Level = LogLevel.Information, Message = "Luthien:Backend:Client is Sdk: chat completions go through the OpenAI / Azure.AI.OpenAI client; Responses, legacy completions and pass-through requests go to the same backend as raw HTTP (the SDK has no protocol method for them).")]
    private static partial void LogSdkReach(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message} Until a request brings one, chat completions to it fail with 502 backend_unavailable.")]
    private static partial void LogAzureWithoutKey(ILogger logger, string message);
}
