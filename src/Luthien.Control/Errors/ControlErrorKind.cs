namespace Luthien.Control;

/// <summary>
/// What went wrong in a transaction: the closed set every failure falls into. The kind decides the HTTP status and the
/// <c>error.code</c> the client sees (unless a policy chose its own status), and is the <c>error.type</c> of the
/// transaction's span and metrics.
/// </summary>
public enum ControlErrorKind
{
    /// <summary>The request cannot be served as sent: its body or path is not valid (400 <c>invalid_request</c>).</summary>
    InvalidRequest,

    /// <summary>The request body is larger than <c>Luthien:Limits:MaxRequestBodyBytes</c> (413 <c>request_too_large</c>).</summary>
    RequestTooLarge,

    /// <summary>Nothing is served at the path: not policed and not allowed for pass-through (404 <c>not_found</c>).</summary>
    NotFound,

    /// <summary>The client's key is missing or wrong (401 <c>invalid_api_key</c>).</summary>
    Unauthorized,

    /// <summary>A policy refused the request (403 <c>content_policy_violation</c>, or the policy's own status).</summary>
    PolicyRejection,

    /// <summary>The backend could not be reached, or its answer broke off (502 <c>backend_unavailable</c>).</summary>
    BackendUnavailable,

    /// <summary>The backend was silent for longer than the first-chunk or idle timeout (504 <c>backend_timeout</c>).</summary>
    BackendTimeout,

    /// <summary>The backend's answer must be read and cannot be (502 <c>backend_invalid_response</c>).</summary>
    BackendInvalidResponse,

    /// <summary>
    /// The answer is an error of the backend's own — a 4xx/5xx status or an error event mid-stream — passed on to the
    /// client unchanged. The library never builds this one.
    /// </summary>
    BackendError,

    /// <summary>A policy failed: it held back more than the limits allow, or threw while a stream was written (500 <c>policy_error</c>).</summary>
    PolicyFailure,

    /// <summary>Any other failure, including every exception nobody expected (500 <c>server_error</c>, with no detail for the client).</summary>
    Internal,

    /// <summary>The client went away before the answer was complete. Recorded, never sent: nobody is left to receive it.</summary>
    ClientDisconnected,
}
