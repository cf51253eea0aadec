namespace Luthien.Control;

/// <summary>
/// A failure that becomes an OpenAI-style error for the client:
/// <c>{"error":{"message","type","param","code"}}</c> with <see cref="StatusCode"/>. The message is shown to the client,
/// so it must never contain a secret.
/// </summary>
public class ControlPolicyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The HTTP status for the client.</param>
    /// <param name="code">The error code, e.g. <c>content_policy_violation</c>.</param>
    /// <param name="message">The message shown to the client.</param>
    /// <param name="type">The error type; derived from the status when <see langword="null"/>.</param>
    /// <param name="param">The request field at fault, if any.</param>
    /// <param name="innerException">The cause, logged but never shown.</param>
    public ControlPolicyException(int statusCode, string code, string message, string? type = null, string? param = null, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(code);
        StatusCode = statusCode;
        Code = code;
        Type = type ?? TypeForStatus(statusCode);
        Param = param;
    }

    /// <summary>Creates a 500 <c>server_error</c>.</summary>
    public ControlPolicyException()
        : this(500, ErrorCodes.ServerError, "The request could not be processed.")
    {
    }

    /// <summary>Creates a 500 <c>server_error</c> with a message.</summary>
    /// <param name="message">The message shown to the client.</param>
    public ControlPolicyException(string message)
        : this(500, ErrorCodes.ServerError, message)
    {
    }

    /// <summary>Creates a 500 <c>server_error</c> with a message and a cause.</summary>
    /// <param name="message">The message shown to the client.</param>
    /// <param name="innerException">The cause, logged but never shown.</param>
    public ControlPolicyException(string message, Exception innerException)
        : this(500, ErrorCodes.ServerError, message, innerException: innerException)
    {
    }

    /// <summary>The HTTP status for the client.</summary>
    public int StatusCode { get; }

    /// <summary>The error code (<c>error.code</c>).</summary>
    public string Code { get; }

    /// <summary>The error type (<c>error.type</c>).</summary>
    public string Type { get; }

    /// <summary>The request field at fault (<c>error.param</c>), or <see langword="null"/>.</summary>
    public string? Param { get; }

    /// <summary>A 400 <c>invalid_request</c>.</summary>
    /// <param name="message">What is wrong with the request.</param>
    /// <param name="param">The field at fault.</param>
    public static ControlPolicyException InvalidRequest(string message, string? param = null) =>
        new(400, ErrorCodes.InvalidRequest, message, param: param);

    /// <summary>A 401 <c>invalid_api_key</c>.</summary>
    /// <param name="message">Why the key was refused (never the key itself).</param>
    public static ControlPolicyException InvalidApiKey(string message) => new(401, ErrorCodes.InvalidApiKey, message);

    /// <summary>A <c>content_policy_violation</c>, 403 unless the policy says otherwise.</summary>
    /// <param name="message">Why the request was refused (never the offending secret).</param>
    /// <param name="statusCode">The status.</param>
    public static ControlPolicyException PolicyViolation(string message, int statusCode = 403) =>
        new(statusCode, ErrorCodes.ContentPolicyViolation, message);

    /// <summary>The OpenAI error type that goes with a status.</summary>
    /// <param name="statusCode">An HTTP status.</param>
    public static string TypeForStatus(int statusCode) => statusCode switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
