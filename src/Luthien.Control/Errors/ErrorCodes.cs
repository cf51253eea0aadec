namespace Luthien.Control;

/// <summary>The <c>error.code</c> values the library produces, one per <see cref="ControlErrorKind"/> it builds.</summary>
internal static class ErrorCodes
{
    /// <summary>The body is not JSON, not an object, or lacks <c>messages</c>.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The body is over the size limit.</summary>
    public const string RequestTooLarge = "request_too_large";

    /// <summary>The client key is missing or wrong.</summary>
    public const string InvalidApiKey = "invalid_api_key";

    /// <summary>A policy refused the request or response.</summary>
    public const string ContentPolicyViolation = "content_policy_violation";

    /// <summary>The backend could not be reached.</summary>
    public const string BackendUnavailable = "backend_unavailable";

    /// <summary>The backend did not answer in time.</summary>
    public const string BackendTimeout = "backend_timeout";

    /// <summary>The backend's answer must be read by the library and cannot be (not JSON, too deep, an unknown encoding, not a stream).</summary>
    public const string BackendInvalidResponse = "backend_invalid_response";

    /// <summary>A policy failed while a stream was being written.</summary>
    public const string PolicyError = "policy_error";

    /// <summary>Any other failure inside the library.</summary>
    public const string ServerError = "server_error";

    /// <summary>No route matches the request.</summary>
    public const string NotFound = "not_found";
}
