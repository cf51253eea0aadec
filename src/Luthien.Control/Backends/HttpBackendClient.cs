using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// The default, lossless backend client: raw <see cref="HttpClient"/> with <see cref="HttpCompletionOption.ResponseHeadersRead"/>,
/// no redirects and no decompression, on the library's own handler (a host's <c>HttpClient</c> defaults do not apply).
/// Bodies of pass-through requests and responses are streamed; policed answers are buffered only when not streamed.
/// The backend is called in its own style (<see cref="BackendStyle"/>), whichever route the client came by.
/// </summary>
internal sealed partial class HttpBackendClient : IBackendClient
{
    private readonly BackendHttp _http;
    private readonly IOptionsMonitor<LuthienOptions> _options;
    private readonly IStreamingResponseReader _streamReader;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the client.</summary>
    /// <param name="http">The library's own HTTP client for the backend.</param>
    /// <param name="options">The backend's URL, key, limits and timeouts.</param>
    /// <param name="streamReader">Reads server-sent events from streamed responses.</param>
    /// <param name="timeProvider">The clock for timeouts.</param>
    /// <param name="logger">The logger.</param>
    internal HttpBackendClient(
        BackendHttp http,
        IOptionsMonitor<LuthienOptions> options,
        IStreamingResponseReader streamReader,
        TimeProvider timeProvider,
        ILogger<HttpBackendClient> logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(streamReader);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _http = http;
        _options = options;
        _streamReader = streamReader;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <inheritdoc />
    public async ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var options = _options.CurrentValue;
        var request = BuildRequest(transaction, options.Backend);
        var response = await SendWithTimeoutAsync(transaction, request, options.Timeouts.FirstChunk, cancellationToken).ConfigureAwait(false);
        var owner = new DisposableGroup(response, request);
        try
        {
            CopyResponseHeaders(response, transaction.Response.Headers, keepContentLength: transaction.Request.Kind == RequestKind.Passthrough);
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await BackendResponseReader.ApplyAsync(
                transaction, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), response.Content.Headers.ContentLength, body, owner, options, _streamReader, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    private async Task<HttpResponseMessage> SendWithTimeoutAsync(Transaction transaction, HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timer = BackendTimer.Started(_timeProvider, timeout, cancellationToken);
        var client = _http.Client;
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.TimedOut)
        {
            request.Dispose();
            LogBackendTimeout(_logger, transaction.Id, timeout.TotalSeconds);
            throw BackendException.Timeout();
        }
        catch (HttpRequestException ex) when (ex.InnerException is ControlException inner)
        {
            // Reading the client's body failed inside the send (e.g. over the size limit): report that, not the backend.
            request.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        catch (HttpRequestException ex)
        {
            request.Dispose();
            LogBackendUnavailable(_logger, transaction.Id, ex.HttpRequestError.ToString(), SecretRedactor.RedactText(ex.Message));
            throw BackendException.Unavailable(ex);
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>Builds the backend request: URL in the backend's style, headers filtered, backend key set in its style.</summary>
    internal static HttpRequestMessage BuildRequest(Transaction transaction, BackendOptions backend)
    {
        var source = transaction.Request;
        var baseUrl = source.BackendUrl ?? backend.BaseUrl ?? throw BackendException.NotConfigured();
        var azure = BackendStyles.Resolve(baseUrl, backend.Style) == BackendStyle.Azure;

        // A policed request's query (an Azure client's api-version) is the client's business with us, not the backend's.
        // Pass-through to an Azure resource goes below its /openai root, as every Azure route does.
        var target = source.Payload is null ? BuildUri(azure ? BackendStyles.AzureRoot(baseUrl) : baseUrl, source.Path, source.QueryString)
            : azure ? BuildAzureUri(baseUrl, source, backend.ApiVersion)
            : BuildUri(baseUrl, source.Path, null);
        var request = new HttpRequestMessage(new HttpMethod(source.Method), target)
        {
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrHigher,
        };

        if (source.Payload is not null)
        {
            request.Content = new ByteArrayContent(source.ToUtf8Bytes());
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }
        else if (source.Body is { } body && HasBody(source))
        {
            request.Content = new StreamContent(body);
        }

        // Headers the client's Connection header names belong to its connection to us, not to ours to the backend.
        source.Headers.TryGetValue("Connection", out var connection);
        foreach (var (name, values) in source.Headers)
        {
            if (ProxyHeaders.IsHopByHop(name) || source.Credentials.Contains(name) || ProxyHeaders.IsRequestOverride(name) || ProxyHeaders.IsNominated(connection, name))
            {
                continue;
            }

            // A policed body is parsed and re-serialized, so the library reads the answer itself: ask for it uncompressed.
            if (source.Payload is not null && (name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            foreach (var value in values)
            {
                // HttpClient would refuse it at send time, which the client would see as a 502 from the backend.
                if (value is not null && !ProxyHeaders.IsSendableValue(value))
                {
                    request.Dispose();
                    throw new InvalidRequestException(
                        $"The header '{name}' has a value with characters other than printable ASCII; it cannot be forwarded.");
                }
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values) && request.Content is not null)
            {
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        var key = source.BackendApiKey ?? backend.ApiKey;
        if (!string.IsNullOrEmpty(key))
        {
            if (azure)
            {
                request.Headers.TryAddWithoutValidation("api-key", key);
            }
            else
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
        }

        return request;
    }

    /// <summary>
    /// The URL of a policed request on an Azure OpenAI resource: <c>/openai/deployments/{model}/chat/completions</c> (or
    /// <c>completions</c>) with an <c>api-version</c>, or <c>/openai/responses?api-version=…</c>, or, with no version
    /// known, <c>/openai/v1/responses</c>.
    /// </summary>
    /// <param name="baseUrl">The resource's endpoint.</param>
    /// <param name="request">The policed request.</param>
    /// <param name="configuredVersion">The configured <c>api-version</c>, used when the client sent none.</param>
    internal static Uri BuildAzureUri(Uri baseUrl, TransactionRequest request, string? configuredVersion)
    {
        var root = BackendStyles.AzureRoot(baseUrl);
        var version = request.ApiVersion ?? configuredVersion;
        if (request.Kind == RequestKind.Responses)
        {
            return version is null ? JoinUri(root, "v1/responses", null) : JoinUri(root, "responses", "?api-version=" + Uri.EscapeDataString(version));
        }

        var deployment = BackendStyles.Deployment(request.Model);
        var path = request.Kind == RequestKind.Completion ? "completions" : "chat/completions";
        return JoinUri(root, $"deployments/{deployment}/{path}", "?api-version=" + Uri.EscapeDataString(version ?? BackendOptions.DefaultAzureApiVersion));
    }

    /// <summary>Joins the backend base URL (with its version segment) and a path below it.</summary>
    internal static Uri BuildUri(Uri? baseUrl, string path, string? queryString)
    {
        if (baseUrl is null)
        {
            throw BackendException.NotConfigured();
        }

        // Almost every request goes to the same URL (chat/completions on the configured backend): reuse the last one
        // built rather than parse it again. Uri is immutable, so sharing it across requests is safe.
        if (string.IsNullOrEmpty(queryString) && _lastTarget is { } last && ReferenceEquals(last.Base, baseUrl) && last.Path == path)
        {
            return last.Target;
        }

        var target = JoinUri(baseUrl, path, queryString);
        if (string.IsNullOrEmpty(queryString))
        {
            _lastTarget = new TargetCache(baseUrl, path, target);
        }

        return target;
    }

    private static Uri JoinUri(Uri baseUrl, string path, string? queryString)
    {
        var text = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/" + path.TrimStart('/');
        var query = string.IsNullOrEmpty(baseUrl.Query) ? queryString : baseUrl.Query + (string.IsNullOrEmpty(queryString) ? string.Empty : "&" + queryString.TrimStart('?'));
        var target = new Uri(text + query, UriKind.Absolute);

        // Defense in depth behind the route checks (and for paths a policy built): Uri removes dot segments and turns
        // '\' into '/', so a path can climb out of BaseUrl's own path, and the backend's key would go with it.
        return IsBelow(baseUrl, target)
            ? target
            : throw new InvalidRequestException("The request path does not stay below the backend's base URL.");
    }

    /// <summary>
    /// Whether <paramref name="target"/> is on the same server as <paramref name="baseUrl"/>, under its path, and holds no
    /// segment a server could still resolve upwards (<c>.</c>, <c>..</c>, or their escaped or backslash forms).
    /// </summary>
    private static bool IsBelow(Uri baseUrl, Uri target)
    {
        if (Uri.Compare(baseUrl, target, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            return false;
        }

        var basePath = baseUrl.AbsolutePath.AsSpan().TrimEnd('/');
        var targetPath = target.AbsolutePath.AsSpan();
        if (!targetPath.StartsWith(basePath, StringComparison.Ordinal) || (targetPath.Length > basePath.Length && targetPath[basePath.Length] != '/'))
        {
            return false;
        }

        var below = targetPath[basePath.Length..];
        if (below.Contains('\\') || below.Contains("%2e", StringComparison.OrdinalIgnoreCase) ||
            below.Contains("%2f", StringComparison.OrdinalIgnoreCase) || below.Contains("%5c", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var range in below.Split('/'))
        {
            if (below[range] is "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    private static TargetCache? _lastTarget;

    private sealed record TargetCache(Uri Base, string Path, Uri Target);

    private static bool HasBody(TransactionRequest request) =>
        request.Headers.ContainsKey("Content-Length") || request.Headers.ContainsKey("Transfer-Encoding") ||
        request.Method is not ("GET" or "HEAD" or "DELETE" or "OPTIONS" or "TRACE");

    private static void CopyResponseHeaders(HttpResponseMessage response, HttpHeaderDictionary target, bool keepContentLength)
    {
        // Headers the backend's Connection header names belong to its connection to us, not to ours to the client.
        response.Headers.NonValidated.TryGetValues("Connection", out var connection);
        foreach (var header in response.Headers.NonValidated)
        {
            if (!ProxyHeaders.IsHopByHop(header.Key) && !IsNominated(connection, header.Key))
            {
                target[header.Key] = ToStringValues(header.Value);
            }
        }

        foreach (var header in response.Content.Headers.NonValidated)
        {
            if (header.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (keepContentLength)
                {
                    target[header.Key] = ToStringValues(header.Value);
                }

                continue;
            }

            if (!ProxyHeaders.IsHopByHop(header.Key) && !IsNominated(connection, header.Key))
            {
                target[header.Key] = ToStringValues(header.Value);
            }
        }

        static bool IsNominated(HeaderStringValues connection, string name)
        {
            foreach (var value in connection)
            {
                if (ProxyHeaders.IsNominated(value, name))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>One value stays one string; only several values need an array.</summary>
    private static Microsoft.Extensions.Primitives.StringValues ToStringValues(HeaderStringValues values) =>
        values.Count == 1 ? new(values.ToString()) : new(values.ToArray());

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: backend sent no response headers within {Seconds} s.")]
    private static partial void LogBackendTimeout(ILogger logger, string transactionId, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: backend unreachable ({Error}): {Detail}")]
    private static partial void LogBackendUnavailable(ILogger logger, string transactionId, string error, string detail);
}
