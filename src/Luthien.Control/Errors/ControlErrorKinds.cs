namespace Luthien.Control;

/// <summary>What every host says of a <see cref="ControlErrorKind"/> the same way: its tag, and whether it ends a stream as the backend's failure.</summary>
internal static class ControlErrorKinds
{
    /// <summary>The <c>error.type</c> of a transaction's span and metrics: the kind, in snake case. A closed set.</summary>
    /// <param name="kind">The kind.</param>
    public static string Tag(ControlErrorKind kind) => kind switch
    {
        ControlErrorKind.InvalidRequest => "invalid_request",
        ControlErrorKind.RequestTooLarge => "request_too_large",
        ControlErrorKind.NotFound => "not_found",
        ControlErrorKind.Unauthorized => "unauthorized",
        ControlErrorKind.PolicyRejection => "policy_rejection",
        ControlErrorKind.BackendUnavailable => "backend_unavailable",
        ControlErrorKind.BackendTimeout => "backend_timeout",
        ControlErrorKind.BackendInvalidResponse => "backend_invalid_response",
        ControlErrorKind.BackendError => "backend_error",
        ControlErrorKind.PolicyFailure => "policy_failure",
        ControlErrorKind.ClientDisconnected => "client_disconnected",
        _ => "internal",
    };

    /// <summary>Whether a kind is a failure of the backend's stream, after which the connection is cut.</summary>
    /// <param name="kind">The kind.</param>
    public static bool IsBackendFailure(ControlErrorKind kind) =>
        kind is ControlErrorKind.BackendUnavailable or ControlErrorKind.BackendTimeout or ControlErrorKind.BackendInvalidResponse;
}
