namespace Luthien.Control;

/// <summary>What the library knows of a request's shape: which policed API it calls, or that it is passed through.</summary>
public enum RequestKind
{
    /// <summary>A chat completion (<c>POST chat/completions</c>): the body is parsed and every policy applies.</summary>
    ChatCompletion,

    /// <summary>Any other request: forwarded with its body and response streamed through unchanged.</summary>
    Passthrough,

    /// <summary>A Responses API request (<c>POST responses</c>): the body is parsed and every policy applies.</summary>
    Responses,

    /// <summary>A legacy completion (<c>POST completions</c>): the body is parsed and every policy applies.</summary>
    Completion,
}
