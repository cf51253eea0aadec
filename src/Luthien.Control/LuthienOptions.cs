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

    /// <summary>Size limits.</summary>
    public LimitOptions Limits { get; set; } = new();

    /// <summary>Backend timeouts.</summary>
    public TimeoutOptions Timeouts { get; set; } = new();
}

/// <summary>Which client talks to the backend.</summary>
public enum BackendClientKind
{
    /// <summary>Raw <see cref="HttpClient"/>: lossless, every field and header passes through. The default.</summary>
    Http,

    /// <summary>Chat completions through the OpenAI / Azure.AI.OpenAI client; other paths still use raw HTTP.</summary>
    Sdk,
}

/// <summary>The model backend.</summary>
public sealed class BackendOptions
{
    /// <summary>OpenAI-compatible base URL including its version segment, e.g. <c>http://127.0.0.1:6590/v1</c>.</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Sent to the backend as <c>Authorization: Bearer …</c>. Never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Which client talks to the backend.</summary>
    public BackendClientKind Client { get; set; } = BackendClientKind.Http;

    /// <inheritdoc />
    public override string ToString() => $"{BaseUrl} ({Client}, key {(string.IsNullOrEmpty(ApiKey) ? "unset" : "set")})";
}

/// <summary>Size limits.</summary>
public sealed class LimitOptions
{
    /// <summary>Request bodies larger than this get 413 <c>request_too_large</c>. Default 10 MiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Buffered (non-streaming) backend responses larger than this fail with 502. Default 64 MiB.</summary>
    [Range(1, long.MaxValue)]
    public long MaxResponseBodyBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>A single server-sent event larger than this ends the stream with an error. Default 1 MiB.</summary>
    [Range(1, int.MaxValue)]
    public int MaxEventBytes { get; set; } = 1024 * 1024;
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
