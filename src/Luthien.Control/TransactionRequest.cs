using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>The client's request, as policies see and change it before it is sent to the backend.</summary>
public sealed class TransactionRequest
{
    private TransactionRequest(RequestKind kind, string method, string path, string? queryString, HttpHeaderDictionary headers, JsonObject? payload = null)
    {
        Kind = kind;
        Method = method;
        Path = path;
        QueryString = queryString;
        Headers = headers;
        Payload = payload;

        // A fact of the client's own request, read before the library could ask the backend for usage on its behalf.
        ClientAskedForUsage = IncludeUsage;
    }

    /// <summary>
    /// Parses and validates a policed request's body: a JSON object (valid UTF-8 without unpaired surrogate escapes, at
    /// most 64 levels deep, no property name repeated in any object) with the field its API requires — chat
    /// <c>messages</c>, Responses <c>input</c>, legacy <c>prompt</c>, present and not empty — and a boolean
    /// <c>stream</c> if any.
    /// </summary>
    /// <param name="kind">The API the request calls; not <see cref="RequestKind.Passthrough"/>.</param>
    /// <param name="utf8Json">The body bytes.</param>
    /// <param name="headers">The client's headers (credentials included; they are never forwarded).</param>
    /// <param name="path">The path below the route prefix; by default the API's own (<c>chat/completions</c>, <c>responses</c>, <c>completions</c>).</param>
    /// <returns>The request.</returns>
    /// <exception cref="InvalidRequestException">The body is not valid (status 400, code <c>invalid_request</c>, the field named).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is <see cref="RequestKind.Passthrough"/>.</exception>
    /// <example>
    /// <code>
    /// var request = TransactionRequest.Parse(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}"""u8);
    /// var transaction = new Transaction(request);
    /// </code>
    /// </example>
    public static TransactionRequest Parse(RequestKind kind, ReadOnlySpan<byte> utf8Json, HttpHeaderDictionary? headers = null, string? path = null)
    {
        var defaultPath = RequestPayloads.DefaultPath(kind);
        return new TransactionRequest(kind, "POST", path ?? defaultPath, null, headers ?? new HttpHeaderDictionary(), RequestPayloads.Parse(kind, utf8Json));
    }

    /// <summary>Creates a policed request from a body already in hand, without validating it.</summary>
    /// <param name="kind">The API the request calls; not <see cref="RequestKind.Passthrough"/>.</param>
    /// <param name="payload">The body; it becomes <see cref="Payload"/> itself (not a copy).</param>
    /// <param name="headers">The client's headers (credentials included; they are never forwarded).</param>
    /// <param name="path">The path below the route prefix; by default the API's own.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is <see cref="RequestKind.Passthrough"/>.</exception>
    public static TransactionRequest Create(RequestKind kind, JsonObject payload, HttpHeaderDictionary? headers = null, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var defaultPath = RequestPayloads.DefaultPath(kind);
        return new TransactionRequest(kind, "POST", path ?? defaultPath, null, headers ?? new HttpHeaderDictionary(), payload);
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

    /// <summary>Which policed API the request calls (its body parsed), or <see cref="RequestKind.Passthrough"/>.</summary>
    public RequestKind Kind { get; }

    /// <summary>The HTTP method.</summary>
    public string Method { get; }

    /// <summary>
    /// The path below the route prefix, without a leading slash. A policed request has its API's own path
    /// (<c>chat/completions</c>, <c>responses</c>, <c>completions</c>) whichever route it came by, Azure's included.
    /// </summary>
    public string Path { get; }

    /// <summary>
    /// The query string of a pass-through request with its leading <c>?</c>, or <see langword="null"/>. A policed
    /// request's query is not forwarded (its <c>api-version</c>, if any, serves an Azure backend), so this is
    /// <see langword="null"/> for it.
    /// </summary>
    public string? QueryString { get; }

    /// <summary>The client's request headers. Credentials in it are read by auth policies and never forwarded.</summary>
    public HttpHeaderDictionary Headers { get; }

    /// <summary>
    /// The whole parsed body of a policed request; <see langword="null"/> for a pass-through request. Changes to it are
    /// what the backend receives; fields the library does not know pass through untouched. Conditions read it as
    /// <c>request.payload.…</c>.
    /// </summary>
    public JsonObject? Payload { get; }

    /// <summary>
    /// The model the request asks for (<c>model</c> in every API's body; for an Azure deployment route without one, the
    /// deployment); <see langword="null"/> when it names none or the request is passed through. Setting it changes what
    /// the backend receives; <see langword="null"/> removes the field.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a pass-through request, whose body is not read.</exception>
    public string? Model
    {
        get => Payload?["model"] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        set
        {
            var payload = Payload ?? throw new InvalidOperationException("A pass-through request has no model to set.");
            if (value is null)
            {
                payload.Remove("model");
            }
            else
            {
                payload["model"] = value;
            }
        }
    }

    /// <summary>Whether the client asked for a streamed (server-sent events) answer: <c>"stream": true</c> in the body.</summary>
    public bool IsStreaming => Payload?["stream"] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>
    /// Every piece of text the client sends the model, whatever the API: chat message contents (strings and the
    /// <c>text</c> of parts); Responses <c>instructions</c> and <c>input</c> (a string, or items: message content as a
    /// string or parts such as <c>input_text</c> / <c>output_text</c>, tool call outputs, and what earlier turns sent
    /// back); legacy <c>prompt</c> (a string or strings) and <c>suffix</c>. Nothing for a pass-through request. For
    /// request policies that look at what is said, e.g. for secrets.
    /// </summary>
    public IEnumerable<string> EnumerateTexts() => Payload is { } payload ? RequestPayloads.EnumerateTexts(Kind, payload) : [];

    /// <summary>Whether the API takes <c>stream_options.include_usage</c> (chat and legacy completions; Responses streams always end with usage).</summary>
    internal bool TakesStreamOptions => Kind is RequestKind.ChatCompletion or RequestKind.Completion;

    /// <summary>Whether the request, as it now stands, asks for the usage chunk at the end of a stream (<c>stream_options.include_usage</c>).</summary>
    internal bool IncludeUsage =>
        TakesStreamOptions && Payload?["stream_options"] is JsonObject o && o["include_usage"] is JsonValue v && v.TryGetValue(out bool b) && b;

    /// <summary>
    /// Whether the client itself asked for the usage chunk: read once, when the request was made, before the library
    /// could ask the backend for usage on its own behalf.
    /// </summary>
    internal bool ClientAskedForUsage { get; }

    /// <summary>
    /// Whether the request, as it now stands, asks for usage the client did not ask for: the client must then get the
    /// answer exactly as it would have without (no usage chunk, no <c>"usage":null</c> members).
    /// </summary>
    internal bool AsksUsageClientDidNot => !ClientAskedForUsage && IncludeUsage;

    /// <summary>
    /// The <c>api-version</c> the client sent on a policed route (Azure clients always send one); sent on to an Azure
    /// backend, never to an OpenAI-style one. Checked by the host to be a plain version token.
    /// </summary>
    internal string? ApiVersion { get; set; }

    /// <summary>How many messages, input items or prompts the body holds; for logs.</summary>
    internal int? InputCount => Payload is { } payload ? RequestPayloads.CountInputs(Kind, payload) : null;

    /// <summary>Serializes the body as UTF-8 JSON, the form sent to the backend; the bytes are kept as <see cref="SentBody"/>.</summary>
    internal byte[] ToUtf8Bytes() =>
        SentBody = LuthienJson.ToUtf8Bytes(Payload ?? throw new InvalidOperationException("A pass-through request has no parsed body."));

    /// <summary>The body as last serialized for the backend; <see langword="null"/> before it was sent (the audit log reuses it).</summary>
    internal byte[]? SentBody { get; private set; }

    /// <summary>The raw body of a pass-through request, streamed to the backend; <see langword="null"/> for policed requests.</summary>
    public Stream? Body { get; private init; }

    /// <summary>
    /// The key the client presented, from <c>Authorization: Bearer …</c> or <c>api-key</c>; <see langword="null"/> if none.
    /// It is never logged and never forwarded.
    /// </summary>
    public string? ClientApiKey
    {
        get
        {
            // Only a single value counts: two Authorization or api-key headers leave it unclear which key is meant.
            if (Headers.TryGetValue("Authorization", out var auth) && auth.Count == 1 &&
                auth.ToString() is var value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) &&
                value["Bearer ".Length..].Trim() is { Length: > 0 } bearer)
            {
                return bearer;
            }

            return Headers.TryGetValue("api-key", out var apiKey) && apiKey.Count == 1 && apiKey.ToString().Trim() is { Length: > 0 } key ? key : null;
        }
    }

    /// <summary>
    /// The backend base URL for this transaction (including its version segment, e.g. <c>https://api.openai.com/v1</c>,
    /// or an Azure OpenAI resource's endpoint); <see langword="null"/> uses the configured backend. Set by
    /// <c>SetBackendPolicy</c>. It is called in the configured <see cref="BackendOptions.Style"/> (<c>Auto</c>: its own).
    /// </summary>
    public Uri? BackendUrl { get; set; }

    /// <summary>
    /// The key sent to the backend as <c>Authorization: Bearer …</c> (to an Azure backend as <c>api-key: …</c>);
    /// <see langword="null"/> uses the configured backend key. Set by <c>AddApiKeyHeader</c> and
    /// <c>AddApiKeyHeaderFromEnv</c>. Never logged.
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
