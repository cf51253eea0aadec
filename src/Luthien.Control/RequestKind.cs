namespace Luthien.Control;

/// <summary>What the library knows of a request's shape.</summary>
public enum RequestKind
{
    /// <summary>A chat completion request: the body is parsed and typed policies apply.</summary>
    ChatCompletion,

    /// <summary>A Responses API request (<c>POST responses</c>): parsed, and every policy applies.</summary>
    Responses,

    /// <summary>A legacy completion request (<c>POST completions</c>): parsed, and every policy applies.</summary>
    Completion,

    /// <summary>Any other request: forwarded with its body and response streamed through unchanged.</summary>
    Passthrough,
}
