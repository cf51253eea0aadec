using System.ComponentModel.DataAnnotations;

namespace Luthien.Control;

/// <summary>Options bound from the <c>Luthien</c> configuration section.</summary>
public sealed class LuthienOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Luthien";

    /// <summary>The model backend.</summary>
    public BackendOptions Backend { get; set; } = new();

    /// <summary>Path of a JSON policy file; <see langword="null"/> uses the built-in default chain (logging, then sending).</summary>
    public string? PolicyFile { get; set; }

    /// <summary>
    /// Whether the policy file is watched and loaded again when it changes (and a new <see cref="PolicyFile"/> from a
    /// configuration reload is loaded). A changed file is checked as at start and replaces the chain in force only if it
    /// passes; otherwise the chain in force stays and a warning says why. Transactions under way finish on the chain they
    /// started with. Read at start; a root policy built in code never reloads. Default on.
    /// </summary>
    public bool ReloadPolicyFile { get; set; } = true;

    /// <summary>Size limits.</summary>
    public LimitOptions Limits { get; set; } = new();

    /// <summary>Backend timeouts.</summary>
    public TimeoutOptions Timeouts { get; set; } = new();

    /// <summary>Streaming behaviour.</summary>
    public StreamingOptions Streaming { get; set; } = new();

    /// <summary>What is forwarded to the backend unparsed (policed routes never are).</summary>
    public PassthroughOptions Passthrough { get; set; } = new();

    /// <summary>Which client headers are kept from the backend and from logs.</summary>
    public HeaderOptions Headers { get; set; } = new();

    /// <summary>The audit log: every transaction's request, response and outcome in a database.</summary>
    public TransactionLogOptions TransactionLog { get; set; } = new();

    /// <summary>The admin area's login.</summary>
    public AdminOptions Admin { get; set; } = new();
}

/// <summary>What is forwarded to the backend unparsed.</summary>
public sealed class PassthroughOptions
{
    /// <summary>The default <see cref="Allow"/> list: listing models, embeddings and moderations.</summary>
    public static IReadOnlyList<string> DefaultAllow { get; } = ["GET models", "GET models/*", "POST embeddings", "POST moderations"];

    /// <summary>
    /// Routes forwarded unparsed, each <c>"METHOD path"</c> relative to the route prefix (<c>"GET models/*"</c>: a
    /// trailing <c>*</c> matches the rest of the path); <c>"*"</c> alone allows every path and is logged as a warning
    /// at start. <see langword="null"/> (unset) means <see cref="DefaultAllow"/>; an empty list forwards nothing.
    /// </summary>
    public IList<string>? Allow { get; set; }
}

/// <summary>Which client headers are kept from the backend and from logs.</summary>
public sealed class HeaderOptions
{
    /// <summary>
    /// Header names treated as client credentials, besides the built-in ones (<c>Authorization</c>, <c>api-key</c>,
    /// <c>x-api-key</c>, <c>x-goog-api-key</c>, <c>x-auth-token</c>, <c>Cookie</c>, …): never forwarded to the backend,
    /// never logged.
    /// </summary>
    public IList<string> Credentials { get; set; } = [];
}

/// <summary>Streaming behaviour.</summary>
public sealed class StreamingOptions
{
    /// <summary>
    /// Ask the backend for the usage chunk (<c>stream_options.include_usage</c>) even when the client did not, so that
    /// token counts can be logged; the client is then not shown that chunk. Turn off for backends that reject
    /// <c>stream_options</c>. Default on.
    /// </summary>
    public bool RequestUsage { get; set; } = true;

    /// <summary>
    /// When a policy ends a stream early and the client asked for usage, how long to keep reading for the backend's
    /// usage chunk (text read meanwhile is discarded). Default 2 s.
    /// </summary>
    [Range(0, 60)]
    public double UsageDrainSeconds { get; set; } = 2;

    /// <summary><see cref="UsageDrainSeconds"/> as a time span.</summary>
    public TimeSpan UsageDrain => TimeSpan.FromSeconds(UsageDrainSeconds);
}

/// <summary>Which client talks to the backend.</summary>
public enum BackendClientKind
{
    /// <summary>Raw <see cref="HttpClient"/>: lossless, every field and header passes through. The default.</summary>
    Http,

    /// <summary>
    /// Chat completions through the OpenAI / Azure.AI.OpenAI client (the SDK's protocol methods: the JSON passes whole);
    /// Responses, legacy completions and pass-through requests still go to the same backend as raw HTTP, because
    /// those SDK versions have no protocol method for them.
    /// </summary>
    Sdk,
}

/// <summary>How the backend is called: which paths, which key header.</summary>
public enum BackendStyle
{
    /// <summary>
    /// <see cref="Azure"/> when the base URL's host is an Azure OpenAI resource (<c>*.openai.azure.com</c>,
    /// <c>*.cognitiveservices.azure.com</c>, <c>*.services.ai.azure.com</c>) and its path does not end in <c>/v1</c>
    /// (Azure's <c>/openai/v1</c> endpoint is OpenAI-compatible); <see cref="OpenAI"/> otherwise. Decided per URL, so a
    /// URL set by <c>SetBackendPolicy</c> gets its own. The default.
    /// </summary>
    Auto,

    /// <summary>
    /// An OpenAI-compatible server: <c>POST &lt;BaseUrl&gt;/chat/completions</c> (or <c>responses</c>,
    /// <c>completions</c>) with <c>model</c> in the body and the key as <c>Authorization: Bearer …</c>.
    /// </summary>
    OpenAI,

    /// <summary>
    /// An Azure OpenAI resource, <see cref="BackendOptions.BaseUrl"/> its endpoint (e.g.
    /// <c>https://my-resource.openai.azure.com/openai</c>; <c>/openai</c> is added when missing): chat and legacy
    /// completions go to <c>/openai/deployments/{model}/chat/completions?api-version=…</c> (the request's model names
    /// the deployment), Responses to <c>/openai/responses?api-version=…</c> (or <c>/openai/v1/responses</c> when no
    /// version is known), with the key as <c>api-key: …</c>. The version is the client's <c>api-version</c>, else
    /// <see cref="BackendOptions.ApiVersion"/>. Pass-through requests go to <c>/openai/&lt;path&gt;</c>, their query kept.
    /// Applies to every backend URL, a <c>SetBackendPolicy</c> one included.
    /// </summary>
    Azure,
}

/// <summary>The model backend.</summary>
public sealed class BackendOptions
{
    /// <summary>The default <see cref="ApiVersion"/> for Azure chat and legacy completions: the newest generally available data-plane version.</summary>
    public const string DefaultAzureApiVersion = "2024-10-21";

    /// <summary>
    /// The backend's base URL: for an OpenAI-style backend including its version segment (e.g.
    /// <c>http://127.0.0.1:6590/v1</c>, <c>https://api.openai.com/v1</c>); for an Azure OpenAI resource its endpoint
    /// (e.g. <c>https://my-resource.openai.azure.com/openai</c>, see <see cref="Style"/>).
    /// </summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>
    /// The backend's key: sent as <c>Authorization: Bearer …</c>, or as <c>api-key: …</c> to an Azure backend. Never
    /// logged. The client's own credentials are never forwarded.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Which client talks to the backend.</summary>
    public BackendClientKind Client { get; set; } = BackendClientKind.Http;

    /// <summary>
    /// How the backend is called: <see cref="BackendStyle.OpenAI"/> paths and <c>Authorization: Bearer</c>, or
    /// <see cref="BackendStyle.Azure"/> deployment paths, <c>api-version</c> and <c>api-key</c>. Default
    /// <see cref="BackendStyle.Auto"/> (Azure for an Azure OpenAI host, else OpenAI). Whatever route the client used
    /// (OpenAI's or Azure's), the backend is called in its own style.
    /// </summary>
    public BackendStyle Style { get; set; } = BackendStyle.Auto;

    /// <summary>
    /// The <c>api-version</c> sent to an Azure backend when the client sent none (a client calling the OpenAI routes,
    /// or Azure's <c>/openai/v1</c> ones). Unset: <see cref="DefaultAzureApiVersion"/> for chat and legacy completions,
    /// and Responses go to Azure's version-less <c>/openai/v1/responses</c>. Never sent to an OpenAI-style backend.
    /// </summary>
    public string? ApiVersion { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{BaseUrl} ({Client}, {Style}, key {(string.IsNullOrEmpty(ApiKey) ? "unset" : "set")})";
}

/// <summary>Size limits.</summary>
public sealed class LimitOptions
{
    /// <summary>Request bodies larger than this get 413 <c>request_too_large</c>. Default 10 MiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// Buffered (non-streaming) backend responses larger than this (after decoding) fail with 502. Default 16 MiB: a
    /// parsed JSON answer takes many times its size in memory, so the bound is kept near what real answers need.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxResponseBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>A single server-sent event larger than this ends the stream with an error. Default 1 MiB.</summary>
    [Range(1, int.MaxValue)]
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The most output per stream written but not yet taken by the client; past it the backend is not read until the
    /// client catches up (backpressure). Chunks a streaming policy holds back are unsent output too: holding more bytes
    /// than this ends the stream with a <c>policy_error</c> event. Default 1 MiB.
    /// </summary>
    [Range(1024, int.MaxValue)]
    public int MaxPendingBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The most text (characters, per choice) a content policy may hold back while it waits to see whether it becomes a
    /// match; past it the stream ends with a <c>policy_error</c> event. Default 16384.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int MaxHoldbackChars { get; set; } = 16 * 1024;

    /// <summary>The most chunks a streaming policy may hold at once; past it the stream ends with an error. Default 1024.</summary>
    [Range(1, int.MaxValue)]
    public int MaxHeldChunks { get; set; } = 1024;
}

/// <summary>Backend timeouts.</summary>
public sealed class TimeoutOptions
{
    /// <summary>How long the backend may take to send its response headers and first chunk. Default 60 s.</summary>
    [Range(0.001, 86400)]
    public double FirstChunkSeconds { get; set; } = 60;

    /// <summary>How long the backend may stay silent between two chunks (or two reads of a body). Default 60 s.</summary>
    [Range(0.001, 86400)]
    public double IdleSeconds { get; set; } = 60;

    /// <summary><see cref="FirstChunkSeconds"/> as a time span.</summary>
    public TimeSpan FirstChunk => TimeSpan.FromSeconds(FirstChunkSeconds);

    /// <summary><see cref="IdleSeconds"/> as a time span.</summary>
    public TimeSpan Idle => TimeSpan.FromSeconds(IdleSeconds);
}
