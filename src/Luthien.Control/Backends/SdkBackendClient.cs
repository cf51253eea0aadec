using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Azure.AI.OpenAI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace Luthien.Control;

/// <summary>
/// Sends chat completions through the official OpenAI client, or the Azure.AI.OpenAI client when the backend is an
/// Azure OpenAI resource (<c>*.openai.azure.com</c>, <c>*.cognitiveservices.azure.com</c>), where the request's
/// <c>model</c> names the deployment. The SDK's protocol methods are used, so the JSON still passes whole in both
/// directions; the SDK contributes authentication, Azure URL shapes and API versions. Every other path goes through
/// <see cref="HttpBackendClient"/>.
/// </summary>
/// <remarks>
/// To authenticate to Azure with Entra ID instead of a key, register your own <see cref="AzureOpenAIClient"/> built
/// with a <c>TokenCredential</c> (e.g. <c>DefaultAzureCredential</c>) as a singleton; this client then uses it.
/// The SDK's own retries are turned off: a proxy should not multiply its clients' retries.
/// </remarks>
internal sealed partial class SdkBackendClient : IBackendClient
{
    private readonly HttpBackendClient _httpFallback;
    private readonly BackendHttp _http;
    private readonly IOptionsMonitor<LuthienOptions> _options;
    private readonly IStreamingResponseReader _streamReader;
    private readonly TimeProvider _timeProvider;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    /// <summary>SDK clients by backend URL and key, so a rotated or per-branch key is used, not the first one seen.</summary>
    private readonly ConcurrentDictionary<(Uri Url, string? Key), object> _clients = new();

    /// <summary>Past this many URL/key pairs, clients are made per request rather than kept (bounded memory).</summary>
    private const int MaxCachedClients = 64;

    /// <summary>Creates the client.</summary>
    /// <param name="httpFallback">Used for every request that is not a chat completion.</param>
    /// <param name="http">The library's own HTTP client, under the SDK's pipeline.</param>
    /// <param name="options">The backend's URL, key, limits and timeouts.</param>
    /// <param name="streamReader">Reads server-sent events from streamed responses.</param>
    /// <param name="timeProvider">The clock for timeouts.</param>
    /// <param name="services">Where a host-provided <see cref="AzureOpenAIClient"/> or <see cref="OpenAIClient"/> is found.</param>
    /// <param name="logger">The logger.</param>
    internal SdkBackendClient(
        HttpBackendClient httpFallback,
        BackendHttp http,
        IOptionsMonitor<LuthienOptions> options,
        IStreamingResponseReader streamReader,
        TimeProvider timeProvider,
        IServiceProvider services,
        ILogger<SdkBackendClient> logger)
    {
        _httpFallback = httpFallback ?? throw new ArgumentNullException(nameof(httpFallback));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _streamReader = streamReader ?? throw new ArgumentNullException(nameof(streamReader));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _services = services ?? throw new ArgumentNullException(nameof(services));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Whether a base URL is an Azure OpenAI resource.</summary>
    /// <param name="baseUrl">The backend base URL.</param>
    public static bool IsAzureEndpoint(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        return baseUrl.Host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase) ||
               baseUrl.Host.EndsWith(".cognitiveservices.azure.com", StringComparison.OrdinalIgnoreCase);
    }

    /// <inheritdoc />
    public async ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction.Request.Chat is not { } chat)
        {
            await _httpFallback.SendAsync(transaction, cancellationToken).ConfigureAwait(false);
            return;
        }

        var options = _options.CurrentValue;
        var baseUrl = transaction.Request.BackendUrl ?? options.Backend.BaseUrl
            ?? throw BackendException.NotConfigured();
        var model = chat.Model ?? throw new InvalidRequestException("'model' is required.", "model");
        var chatClient = GetChatClient(baseUrl, transaction.Request.BackendApiKey ?? options.Backend.ApiKey, model);

        using var timer = BackendTimer.Started(_timeProvider, options.Timeouts.FirstChunk, cancellationToken);
        var requestOptions = new RequestOptions
        {
            CancellationToken = timer.Token,
            BufferResponse = false,
            ErrorOptions = ClientErrorBehaviors.NoThrow,
        };

        ClientResult result;
        try
        {
            result = await chatClient.CompleteChatAsync(BinaryContent.Create(BinaryData.FromBytes(chat.ToUtf8Bytes())), requestOptions).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.TimedOut)
        {
            throw BackendException.Timeout();
        }
        catch (ClientResultException ex) when (ex.Status == 0)
        {
            LogUnavailable(_logger, transaction.Id, ex.Message);
            throw BackendException.Unavailable(ex);
        }

        var response = result.GetRawResponse();
        try
        {
            string? contentType = null;
            long? contentLength = null;
            response.Headers.TryGetValue("Connection", out var connection);
            foreach (var (name, value) in response.Headers)
            {
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    contentType = value;
                }
                else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    contentLength = long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : null;
                }
                else if (!ProxyHeaders.IsHopByHop(name) && (connection is null || !ProxyHeaders.IsNominated(connection.AsSpan(), name)))
                {
                    // Headers the backend's Connection header names belong to that connection only, as on the raw path.
                    transaction.Response.Headers[name] = value;
                }
            }

            var body = response.ContentStream ?? response.Content.ToStream();
            await BackendResponseReader.ApplyAsync(
                transaction, response.Status, contentType, contentLength, body, response, options, _streamReader, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private ChatClient GetChatClient(Uri baseUrl, string? apiKey, string model)
    {
        var key = (baseUrl, apiKey);
        if (!_clients.TryGetValue(key, out var client))
        {
            client = CreateClient(baseUrl, apiKey);
            if (_clients.Count < MaxCachedClients)
            {
                client = _clients.GetOrAdd(key, client);
            }
        }

        return client switch
        {
            AzureOpenAIClient azure => azure.GetChatClient(model),
            OpenAIClient openAi => openAi.GetChatClient(model),
            _ => throw new InvalidOperationException("Unexpected SDK client."),
        };
    }

    private object CreateClient(Uri baseUrl, string? apiKey)
    {
        var transport = new HttpClientPipelineTransport(_http.Client);
        if (IsAzureEndpoint(baseUrl))
        {
            if (_services.GetService<AzureOpenAIClient>() is { } registered)
            {
                return registered;
            }

            var endpoint = new Uri(baseUrl.GetLeftPart(UriPartial.Authority));
            var azureOptions = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = new ClientRetryPolicy(0) };
            return new AzureOpenAIClient(endpoint, new ApiKeyCredential(RequireKey(apiKey)), azureOptions);
        }

        if (_services.GetService<OpenAIClient>() is { } openAi)
        {
            return openAi;
        }

        var clientOptions = new OpenAIClientOptions { Endpoint = baseUrl, Transport = transport, RetryPolicy = new ClientRetryPolicy(0) };

        // OpenAI-compatible servers without authentication still need a credential object; nothing secret is sent.
        return new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "no-key" : apiKey), clientOptions);
    }

    private static string RequireKey(string? apiKey) => string.IsNullOrEmpty(apiKey)
        ? throw ControlFailureException.Internal("No backend API key is configured for the Azure OpenAI backend (Luthien:Backend:ApiKey), and no AzureOpenAIClient is registered.")
        : apiKey;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: backend unreachable through the SDK client: {Detail}")]
    private static partial void LogUnavailable(ILogger logger, string transactionId, string detail);
}
