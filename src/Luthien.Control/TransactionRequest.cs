using Microsoft.Extensions.Primitives;

namespace Luthien.Control;

/// <summary>The client's request, as policies see and change it before it is sent to the backend.</summary>
public sealed class TransactionRequest
{
    private TransactionRequest(RequestKind kind, string method, string path, string? queryString, HttpHeaderDictionary headers)
    {
        Kind = kind;
        Method = method;
        Path = path;
        QueryString = queryString;
        Headers = headers;
    }

    /// <summary>Creates a chat completion request from its parsed body.</summary>
    /// <param name="chat">The parsed body.</param>
    /// <param name="headers">The client's headers (credentials included; they are never forwarded).</param>
    /// <param name="path">The path below the route prefix; <c>chat/completions</c> by default.</param>
    public static TransactionRequest ForChat(ChatCompletionRequest chat, HttpHeaderDictionary? headers = null, string path = "chat/completions")
    {
        ArgumentNullException.ThrowIfNull(chat);
        return new TransactionRequest(RequestKind.ChatCompletion, "POST", path, null, headers ?? new HttpHeaderDictionary()) { Chat = chat };
    }

    /// <summary>Creates a request that is forwarded as it is, its body streamed.</summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The path below the route prefix, e.g. <c>models</c>.</param>
    /// <param name="queryString">The query string with its leading <c>?</c>, or <see langword="null"/>.</param>
    /// <param name="headers">The client's headers.</param>
    /// <param name="body">The request body, read once when the request is sent; <see langword="null"/> for none.</param>
    public static TransactionRequest ForPassthrough(string method, string path, string? queryString, HttpHeaderDictionary? headers, Stream? body)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(path);
        return new TransactionRequest(RequestKind.Passthrough, method, path, queryString, headers ?? new HttpHeaderDictionary()) { Body = body };
    }

    /// <summary>Whether the body was parsed (<see cref="RequestKind.ChatCompletion"/>) or is passed through.</summary>
    public RequestKind Kind { get; }

    /// <summary>The HTTP method.</summary>
    public string Method { get; }

    /// <summary>The path below the route prefix, without a leading slash (e.g. <c>chat/completions</c>).</summary>
    public string Path { get; }

    /// <summary>The query string with its leading <c>?</c>, or <see langword="null"/>.</summary>
    public string? QueryString { get; }

    /// <summary>The client's request headers. Credentials in it are read by auth policies and never forwarded.</summary>
    public HttpHeaderDictionary Headers { get; }

    /// <summary>The parsed chat completion body; <see langword="null"/> for pass-through requests.</summary>
    public ChatCompletionRequest? Chat { get; private init; }

    /// <summary>
    /// The model the request asks for, whatever the API (chat completions' <c>model</c> today); <see langword="null"/>
    /// when it names none or the request is passed through. Setting it changes what the backend receives.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a pass-through request, whose body is not read.</exception>
    public string? Model
    {
        get => Chat?.Model;
        set => (Chat ?? throw new InvalidOperationException("A pass-through request has no model to set.")).Model = value;
    }

    /// <summary>
    /// Every piece of text the client sends the model, whatever the API (chat completions: string message contents and
    /// the <c>text</c> of content parts); nothing for a pass-through request. For request policies that look at what is
    /// said, e.g. for secrets.
    /// </summary>
    public IEnumerable<string> EnumerateTexts() => Chat?.EnumerateMessageTexts() ?? [];

    /// <summary>The raw body of a pass-through request, streamed to the backend; <see langword="null"/> for chat requests.</summary>
    public Stream? Body { get; private init; }

    /// <summary>
    /// The key the client presented, from <c>Authorization: Bearer …</c> or <c>api-key</c>; <see langword="null"/> if none.
    /// It is never logged and never forwarded.
    /// </summary>
    public string? ClientApiKey
    {
        get
        {
            if (Headers.TryGetValue("Authorization", out var auth))
            {
                var value = auth.ToString();
                if (value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                {
                    var key = value["Bearer ".Length..].Trim();
                    return key.Length == 0 ? null : key;
                }
            }

            return Headers.TryGetValue("api-key", out var apiKey) && !StringValues.IsNullOrEmpty(apiKey) ? apiKey.ToString() : null;
        }
    }

    /// <summary>
    /// The backend base URL for this transaction (including its version segment, e.g. <c>https://api.openai.com/v1</c>);
    /// <see langword="null"/> uses the configured backend. Set by <c>SetBackendPolicy</c>.
    /// </summary>
    public Uri? BackendUrl { get; set; }

    /// <summary>
    /// The key sent to the backend as <c>Authorization: Bearer …</c>; <see langword="null"/> uses the configured backend key.
    /// Set by <c>AddApiKeyHeader</c> and <c>AddApiKeyHeaderFromEnv</c>. Never logged.
    /// </summary>
    public string? BackendApiKey { get; set; }

    /// <summary>
    /// The header names treated as credentials for this request: never forwarded, never logged. The host sets the
    /// instance built once from its options; anything else gets the built-in names.
    /// </summary>
    internal CredentialHeaders Credentials { get; set; } = CredentialHeaders.BuiltIn;

    /// <summary>
    /// A redacted, log-safe view of the headers: credentials (built-in, configured, and any header whose name looks like
    /// one, e.g. contains <c>key</c>, <c>token</c> or <c>auth</c>) are replaced by <c>***</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> GetRedactedHeaders()
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in Headers)
        {
            var hidden = Credentials.Contains(name) || SecretRedactor.IsSensitiveHeader(name) || SecretRedactor.LooksLikeCredential(name);
            result[name] = hidden ? "***" : value.ToString();
        }

        return result;
    }
}
