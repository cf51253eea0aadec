using Luthien.Control;
using Luthien.Control.AspNetCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

// In DI's own namespace, as AddHealthChecks and AddLuthienControl are: the call needs no using of its own.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Luthien.Control's health checks.</summary>
public static class LuthienHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that the configured model backend answers: <c>GET &lt;BaseUrl&gt;/models</c> through the library's
    /// own backend client and credentials, within <paramref name="timeout"/>. Healthy on 2xx; Degraded when the backend
    /// is reachable but refuses it (401/403: the key; 429: rate limited; another 4xx: usually the base URL's path);
    /// <paramref name="failureStatus"/> when it cannot be reached, times out, answers 5xx or a redirect, or no backend is
    /// configured. A backend that is not an HTTP backend (<c>UseChatClientBackend</c>) is not probed and reports Healthy.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name; <c>luthien-backend</c> by default.</param>
    /// <param name="failureStatus">What an unreachable backend reports; <see cref="HealthStatus.Unhealthy"/> by default.</param>
    /// <param name="tags">Tags to select the check by, e.g. <c>ready</c>.</param>
    /// <param name="timeout">How long the probe waits for the backend's answer; 5 seconds by default.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <remarks>
    /// Each run is one request to the backend: expose it on a readiness endpoint the orchestrator calls, not on a public
    /// one. Keys that policies set per request (<c>AddApiKeyHeader</c>, <c>SetBackendPolicy</c>) do not apply to the probe.
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.Services.AddHealthChecks().AddLuthienBackend(tags: ["ready"]);
    /// app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
    /// </code>
    /// </example>
    public static IHealthChecksBuilder AddLuthienBackend(
        this IHealthChecksBuilder builder,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (timeout is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(timeout));
        }

        return builder.Add(new HealthCheckRegistration(
            name ?? LuthienBackendHealthCheck.DefaultName,
            sp => new LuthienBackendHealthCheck(
                sp.GetRequiredService<IBackendClient>(),
                sp.GetRequiredService<HttpBackendClient>,
                sp.GetRequiredService<IOptionsMonitor<LuthienOptions>>(),
                sp.GetService<TimeProvider>() ?? TimeProvider.System,
                timeout ?? LuthienBackendHealthCheck.DefaultTimeout),
            failureStatus,
            tags));
    }
}
