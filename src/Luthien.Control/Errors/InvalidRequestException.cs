namespace Luthien.Control;

/// <summary>
/// The request cannot be served as sent: its body is not valid (400 <c>invalid_request</c>), too large (413
/// <c>request_too_large</c>), or nothing is served at its path (404 <c>not_found</c>). It never reaches the backend.
/// </summary>
/// <example>
/// <code>
/// if (transaction.Request is { Payload: not null, Model: null })
///     throw new InvalidRequestException("'model' is required.", "model");
/// </code>
/// </example>
public sealed class InvalidRequestException : ControlException
{
    /// <summary>Creates a 400 <c>invalid_request</c>.</summary>
    /// <param name="message">What is wrong with the request; shown to the client.</param>
    /// <param name="param">The request field at fault, if any.</param>
    public InvalidRequestException(string message, string? param = null)
        : base(ControlErrorKind.InvalidRequest, 400, ErrorCodes.InvalidRequest, message, param, null)
    {
    }

    private InvalidRequestException(ControlErrorKind kind, int statusCode, string code, string message)
        : base(kind, statusCode, code, message, null, null)
    {
    }

    /// <summary>A 413 <c>request_too_large</c>: a request body over the limit, wherever it is found.</summary>
    internal static InvalidRequestException TooLarge(long limit) =>
        new(ControlErrorKind.RequestTooLarge, 413, ErrorCodes.RequestTooLarge, $"The request body is larger than the limit of {limit} bytes.");

    /// <summary>A 404 <c>not_found</c>: nothing is served at the path.</summary>
    internal static InvalidRequestException NotFound(string message) =>
        new(ControlErrorKind.NotFound, 404, ErrorCodes.NotFound, message);
}
