namespace Luthien.Control;

/// <summary>
/// A policy's decision to refuse the transaction: 401 <c>invalid_api_key</c> (<see cref="InvalidApiKey"/>) or
/// <c>content_policy_violation</c>, 403 or the status the policy chooses (<see cref="PolicyViolation"/>). Throw it from
/// <see cref="ControlPolicy.ApplyAsync"/>; a request refused before <c>SendBackendRequest</c> never reaches the backend.
/// </summary>
/// <example>
/// <code>
/// if (transaction.Request.Model is "forbidden-model")
///     throw ControlPolicyException.PolicyViolation("This model is not available to you.");
/// if (tooManyRequests)
///     throw ControlPolicyException.PolicyViolation("Too many requests; try again in a minute.", statusCode: 429);
/// </code>
/// </example>
public sealed class ControlPolicyException : ControlException
{
    private ControlPolicyException(ControlErrorKind kind, int statusCode, string code, string message)
        : base(kind, statusCode, code, message, null, null)
    {
    }

    /// <summary>A 401 <c>invalid_api_key</c>: the client's key is missing or wrong.</summary>
    /// <param name="message">Why the key was refused; shown to the client, so never the key itself.</param>
    public static ControlPolicyException InvalidApiKey(string message) =>
        new(ControlErrorKind.Unauthorized, 401, ErrorCodes.InvalidApiKey, message);

    /// <summary>A <c>content_policy_violation</c>: the policy refuses the request (or the response).</summary>
    /// <param name="message">Why it was refused; shown to the client, so never the offending secret or text.</param>
    /// <param name="statusCode">The HTTP status, 403 unless the policy chooses another 4xx or 5xx.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="statusCode"/> is not an error status (400–599).</exception>
    public static ControlPolicyException PolicyViolation(string message, int statusCode = 403)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        return new(ControlErrorKind.PolicyRejection, statusCode, ErrorCodes.ContentPolicyViolation, message);
    }
}
