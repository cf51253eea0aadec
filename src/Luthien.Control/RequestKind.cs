namespace Luthien.Control;

/// <summary>What the library knows of a request's shape.</summary>
public enum RequestKind
{
    /// <summary>A chat completion request: the body is parsed and typed policies apply.</summary>
    ChatCompletion,

    /// <summary>Any other request: forwarded with its body and response streamed through unchanged.</summary>
    Passthrough,
}
