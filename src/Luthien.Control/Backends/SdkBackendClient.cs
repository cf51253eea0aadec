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
/// Sends chat completions through the official OpenAI client, or the Azure.AI.OpenAI client when the backend is called
/// in Azure style (<see cref="BackendStyle"/>), where the request's <c>model</c> names the deployment. The SDK's
/// protocol methods are used, so the JSON still passes whole in both directions; the SDK contributes authentication,
/// Azure URL shapes and its own API version. Responses, legacy completions and pass-through requests go through
/// <see cref="HttpBackendClient"/> to the same backend, in the same style, with the same key: the SDK versions the
/// library builds against have no protocol method for them.
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
    /// <summary>SDK clients by backend URL, style and key, so a rotated or per-branch key is used, not the first one seen.</summary>
    private readonly ConcurrentDictionary<(Uri Url, bool Azure, string? Key), Func<string, ChatClient>> _clients = new();

    /// <summary>Past this many URL/key pairs, clients are made per request rather than kept (bounded memory).</summary>
    private const int MaxCachedClients = 64;

    /// <summary>Creates the client.</summary>
    /// <param name="httpFallback">Used for every request that is not a chat completion (Responses, legacy completions, pass-through).</param>
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

    /// <inheritdoc />
    public async ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var request = transaction.Request;
        if (request.Kind != RequestKind.ChatCompletion || request.Payload is null)
        {
            await _httpFallback.SendAsync(transaction, cancellationToken).ConfigureAwait(false);
            return;
        }

        var options = _options.CurrentValue;
        var baseUrl = request.BackendUrl ?? options.Backend.BaseUrl ?? throw BackendException.NotConfigured();
        var azure = BackendStyles.Resolve(baseUrl, options.Backend.Style) == BackendStyle.Azure;
        var model = azure ? BackendStyles.Deployment(request.Model) : request.Model ?? throw new InvalidRequestException("'model' is required.", "model");
        var chatClient = GetClient(baseUrl, azure, request.BackendApiKey ?? options.Backend.ApiKey)(model);

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
            result = await chatClient.CompleteChatAsync(BinaryContent.Create(BinaryData.FromBytes(request.ToUtf8Bytes())), requestOptions).ConfigureAwait(false);
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

    /// <summary>The SDK client for a backend URL, style and key, as a way to get the chat client of a model.</summary>
    private Func<string, ChatClient> GetClient(Uri baseUrl, bool azure, string? apiKey)
    {
        var key = (baseUrl, azure, apiKey);
        if (!_clients.TryGetValue(key, out var client))
        {
            client = CreateClient(baseUrl, azure, apiKey);
            if (_clients.Count < MaxCachedClients)
            {
                client = _clients.GetOrAdd(key, client);
            }
        }

        return client;
    }

    private Func<string, ChatClient> CreateClient(Uri baseUrl, bool azure, string? apiKey)
    {
        var transport = new HttpClientPipelineTransport(_http.Client);
        if (azure)
        {
            if (_services.GetService<AzureOpenAIClient>() is { } registered)
            {
                return registered.GetChatClient;
            }

            if (string.IsNullOrEmpty(apiKey))
            {
                // A configuration problem, not the client's: a proper error naming what to set, never a 500.
                throw BackendException.Misconfigured(NoAzureKeyMessage);
            }

            var azureOptions = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = new ClientRetryPolicy(0) };
            return new AzureOpenAIClient(BackendStyles.AzureEndpoint(baseUrl), new ApiKeyCredential(apiKey), azureOptions).GetChatClient;
        }

        if (_services.GetService<OpenAIClient>() is { } openAi)
        {
            return openAi.GetChatClient;
        }

        var clientOptions = new OpenAIClientOptions { Endpoint = baseUrl, Transport = transport, RetryPolicy = new ClientRetryPolicy(0) };

        // OpenAI-compatible servers without authentication still need a credential object; nothing secret is sent.
        return new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(apiKey) ? "no-key" : apiKey), clientOptions).GetChatClient;
    }

    /// <summary>What a request to an Azure backend through the SDK without any key is told (and the start-up warning says).</summary>
    internal const string NoAzureKeyMessage =
        "The Azure OpenAI backend has no key: set Luthien:Backend:ApiKey, add one per request with the AddApiKeyHeader policy, or register an AzureOpenAIClient (e.g. with Entra ID).";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: backend unreachable through the SDK client: {Detail}")]
    private static partial void LogUnavailable(ILogger logger, string transactionId, string detail);
}
