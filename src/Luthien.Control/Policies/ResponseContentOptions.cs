namespace Luthien.Control.Streaming;

/// <summary>Options of <see cref="ResponseContentPolicy"/> (<c>ResponseContentPolicy</c> in policy files).</summary>
internal sealed class ResponseContentOptions : PolicyOptions
{
    /// <summary>Regular expressions to look for in assistant text.</summary>
    public IList<string> Patterns { get; set; } = [];

    /// <summary><c>redact</c> (default) or <c>block</c>.</summary>
    public string Action { get; set; } = "redact";

    /// <summary>The text that replaces a match when redacting. Default <c>[REDACTED]</c>.</summary>
    public string Replacement { get; set; } = "[REDACTED]";

    /// <summary>
    /// Which text to read: <c>text</c>, <c>refusal</c>, <c>tool_arguments</c>, <c>reasoning</c>, <c>audio_transcript</c>;
    /// all when left out.
    /// </summary>
    public IList<string>? Scope { get; set; }
}
