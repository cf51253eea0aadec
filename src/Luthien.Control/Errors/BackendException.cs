namespace Luthien.Control;

/// <summary>
/// The backend failed: it could not be reached or its answer broke off (502 <c>backend_unavailable</c>), it sent an
/// answer that cannot be read (502 <c>backend_invalid_response</c>), or it did not answer in time (504
/// <c>backend_timeout</c>). Once a stream has begun, the client gets it as the stream's last event.
/// </summary>
public sealed class BackendException : ControlException
{
    private BackendException(ControlErrorKind kind, int statusCode, string code, string message, Exception? innerException)
        : base(kind, statusCode, code, message, null, innerException)
    {
    }

    /// <summary>Creates a 502 <c>backend_unavailable</c>.</summary>
    /// <param name="innerException">The transport failure; logged, never shown.</param>
    public static BackendException Unavailable(Exception? innerException = null) =>
        Unavailable("The model backend could not be reached.", innerException);

    /// <summary>Creates a 502 <c>backend_invalid_response</c>: an answer the library must read and cannot.</summary>
    /// <param name="reason">Why it cannot be read; it must hold no part of the answer.</param>
    public static BackendException InvalidResponse(string reason) =>
        new(ControlErrorKind.BackendInvalidResponse, 502, ErrorCodes.BackendInvalidResponse, $"The model backend's answer could not be read: {reason}", null);

    /// <summary>Creates a 504 <c>backend_timeout</c>.</summary>
    /// <param name="what">What the backend failed to send in time.</param>
    public static BackendException Timeout(string what = "a response") =>
        new(ControlErrorKind.BackendTimeout, 504, ErrorCodes.BackendTimeout, $"The model backend did not send {what} in time.", null);

    /// <summary>A 502 <c>backend_unavailable</c>: the backend's answer broke off after it began.</summary>
    internal static BackendException BrokeOff(Exception innerException) =>
        Unavailable("The backend's answer broke off.", innerException);

    /// <summary>A 502 <c>backend_unavailable</c>: the backend's stream ended without its last event.</summary>
    internal static BackendException EndedEarly() =>
        Unavailable("The backend's stream ended without [DONE].", null);

    /// <summary>A 502 <c>backend_unavailable</c>: no backend URL is configured.</summary>
    internal static BackendException NotConfigured() =>
        Unavailable("No model backend is configured (Luthien:Backend:BaseUrl).", null);

    /// <summary>A 502 <c>backend_unavailable</c>: the backend cannot be called as configured (the message says what to set).</summary>
    internal static BackendException Misconfigured(string message) =>
        Unavailable(message, null);

    /// <summary>A 502 <c>backend_unavailable</c>: a buffered answer over the size limit.</summary>
    internal static BackendException TooLarge(long limit) =>
        Unavailable($"The backend's response is larger than the limit of {limit} bytes.", null);

    private static BackendException Unavailable(string message, Exception? innerException) =>
        new(ControlErrorKind.BackendUnavailable, 502, ErrorCodes.BackendUnavailable, message, innerException);
}
