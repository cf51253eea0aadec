using System.Globalization;
using System.Net.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Whether the configured model backend answers: <c>GET &lt;BaseUrl&gt;/models</c> (Azure style:
/// <c>/openai/models?api-version=…</c>) through the library's own backend client — its handler, its credentials
/// (<c>Luthien:Backend:ApiKey</c>), never the host's <c>HttpClient</c> defaults — within a short timeout.
/// </summary>
/// <remarks>
/// Healthy on 2xx. Degraded when the backend is reachable but refuses the probe: 401/403 (the key), 429 (rate limited),
/// or another 4xx (the base URL's path, usually). The registration's failure status (Unhealthy by default) when it
/// cannot be reached, does not answer in time, answers 5xx or something the library refuses to read (a redirect), or
/// none is configured. A backend that is not an HTTP backend (<c>UseChatClientBackend</c>, a host's own
/// <see cref="IBackendClient"/>) is not probed: Healthy, saying so. Descriptions are the library's own words and the
/// status; never the key, the URL, or the backend's body.
/// </remarks>
internal sealed class LuthienBackendHealthCheck(
    IBackendClient backend, Func<HttpBackendClient> http, IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider, TimeSpan timeout) : IHealthCheck
{
    /// <summary>The registration's name when the host gives none.</summary>
    public const string DefaultName = "luthien-backend";

    /// <summary>How long the probe waits for the backend's answer when the host sets no timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failure = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        if (backend is not (HttpBackendClient or SdkBackendClient))
        {
            return HealthCheckResult.Healthy(
                "The backend is not an HTTP backend (UseChatClientBackend, or an IBackendClient of the host's own): not probed.",
                Data(probed: false));
        }

        var current = options.CurrentValue.Backend;
        var query = current.BaseUrl is { } baseUrl && BackendStyles.Resolve(baseUrl, current.Style) == BackendStyle.Azure
            ? "?api-version=" + Uri.EscapeDataString(current.ApiVersion ?? BackendOptions.DefaultAzureApiVersion)
            : null;
        var transaction = new Transaction(TransactionRequest.ForPassthrough("GET", "models", query, null, null), cancellationToken: cancellationToken);

        using var deadline = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            // The raw client even under the SDK client: the SDK sends pass-through requests through it too.
            await http().SendAsync(transaction, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, $"The backend did not answer GET models within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", data: Data(probed: true));
        }
        catch (BackendException ex)
        {
            // The library's own message (what to set, what it refused), and the transport's kind of failure: nothing
            // of the URL, the key or the answer.
            var transport = ex.InnerException is HttpRequestException { HttpRequestError: var error and not HttpRequestError.Unknown } ? $" ({error})" : string.Empty;
            return new HealthCheckResult(failure, ex.Message + transport, data: Data(probed: true));
        }
        finally
        {
            transaction.Response.BodyStream?.Dispose();
            transaction.Response.Owner?.Dispose();
        }

        var status = transaction.Response.StatusCode ?? 0;
        return status switch
        {
            >= 200 and < 300 => HealthCheckResult.Healthy($"The backend answered GET models with {status}.", Data(true, status)),
            401 or 403 => HealthCheckResult.Degraded($"The backend is reachable but refused the configured credentials ({status}): check Luthien:Backend:ApiKey (or OPENAI_API_KEY).", data: Data(true, status)),
            429 => HealthCheckResult.Degraded("The backend is reachable but rate limits the configured credentials (429).", data: Data(true, status)),
            >= 400 and < 500 => HealthCheckResult.Degraded($"The backend is reachable but answered GET models with {status}: check Luthien:Backend:BaseUrl (it includes the API's version segment, e.g. /v1).", data: Data(true, status)),
            _ => new HealthCheckResult(failure, $"The backend answered GET models with {status}.", data: Data(true, status)),
        };
    }

    private static Dictionary<string, object> Data(bool probed, int? status = null)
    {
        var data = new Dictionary<string, object> { ["probed"] = probed };
        if (status is { } value)
        {
            data["status_code"] = value;
        }

        return data;
    }
}
