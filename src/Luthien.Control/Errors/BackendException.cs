namespace Luthien.Control;

/// <summary>The backend could not be reached (502 <c>backend_unavailable</c>), sent an answer that cannot be read (502 <c>backend_invalid_response</c>) or did not answer in time (504 <c>backend_timeout</c>).</summary>
public sealed class BackendException : ControlPolicyException
{
    internal BackendException(int statusCode, string code, string message, Exception? innerException)
        : base(statusCode, code, message, "server_error", innerException: innerException)
    {
    }

    /// <summary>Creates a 502 <c>backend_unavailable</c>.</summary>
    /// <param name="innerException">The transport failure.</param>
    public static BackendException Unavailable(Exception? innerException = null) =>
        new(502, ErrorCodes.BackendUnavailable, "The model backend could not be reached.", innerException);

    /// <summary>Creates a 502 <c>backend_invalid_response</c>: an answer the library must read and cannot.</summary>
    /// <param name="reason">Why it cannot be read; it must hold no part of the answer.</param>
    public static BackendException InvalidResponse(string reason) =>
        new(502, ErrorCodes.BackendInvalidResponse, $"The model backend's answer could not be read: {reason}", null);

    /// <summary>A 502 <c>backend_unavailable</c>: the backend's answer broke off after it began.</summary>
    internal static BackendException BrokeOff(Exception innerException) =>
        new(502, ErrorCodes.BackendUnavailable, "The backend's answer broke off.", innerException);

    /// <summary>A 502 <c>backend_unavailable</c>: no backend URL is configured.</summary>
    internal static BackendException NotConfigured() =>
        new(502, ErrorCodes.BackendUnavailable, "No model backend is configured (Luthien:Backend:BaseUrl).", null);

    /// <summary>A 502 <c>backend_unavailable</c>: a buffered answer over the size limit.</summary>
    internal static BackendException TooLarge(long limit) =>
        new(502, ErrorCodes.BackendUnavailable, $"The backend's response is larger than the limit of {limit} bytes.", null);

    /// <summary>Creates a 504 <c>backend_timeout</c>.</summary>
    /// <param name="what">What the backend failed to send in time.</param>
    public static BackendException Timeout(string what = "a response") =>
        new(504, ErrorCodes.BackendTimeout, $"The model backend did not send {what} in time.", null);
}
