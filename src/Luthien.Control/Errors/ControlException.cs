namespace Luthien.Control;

/// <summary>
/// A failure that reaches the client as an OpenAI-style error, <c>{"error":{"message","type","param","code"}}</c> with
/// <see cref="StatusCode"/> (or, once a stream has begun, as its last event). The family is closed:
/// <see cref="InvalidRequestException"/> for the request, <see cref="ControlPolicyException"/> for a policy's decision,
/// <see cref="BackendException"/> for the backend. Any other exception is a 500 <c>server_error</c> whose detail is
/// logged and never shown.
/// </summary>
/// <remarks>The message is shown to the client, so it never holds a secret or a stack trace.</remarks>
public abstract class ControlException : Exception
{
    private protected ControlException(ControlErrorKind kind, int statusCode, string code, string message, string? param, Exception? innerException)
        : base(message, innerException)
    {
        Kind = kind;
        StatusCode = statusCode;
        Code = code;
        Param = param;
    }

    /// <summary>What went wrong.</summary>
    public ControlErrorKind Kind { get; }

    /// <summary>The HTTP status for the client.</summary>
    public int StatusCode { get; }

    /// <summary>The error code (<c>error.code</c>), e.g. <c>content_policy_violation</c>.</summary>
    public string Code { get; }

    /// <summary>The OpenAI error type (<c>error.type</c>), derived from <see cref="StatusCode"/>, e.g. <c>permission_error</c> for 403.</summary>
    public string Type => TypeForStatus(StatusCode);

    /// <summary>The request field at fault (<c>error.param</c>), or <see langword="null"/>.</summary>
    public string? Param { get; }

    /// <summary>The OpenAI error type that goes with a status.</summary>
    internal static string TypeForStatus(int statusCode) => statusCode switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
