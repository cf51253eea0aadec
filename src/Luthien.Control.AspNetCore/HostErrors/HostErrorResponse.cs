using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// An error status the host's own middleware chose on a Luthien endpoint (authorization's 401 or 403, rate limiting's
/// 429, a problem details body for any status), written as the contract's error envelope so that OpenAI clients read it.
/// Headers the middleware set (<c>WWW-Authenticate</c>, <c>Retry-After</c>) stay; the message is fixed per status, so
/// nothing of the host's detail (an exception, a token's claims) reaches the client.
/// </summary>
internal static class HostErrorResponse
{
    /// <summary>The code and message for a status.</summary>
    /// <param name="statusCode">An error status (400–599).</param>
    public static (string Code, string Message) Describe(int statusCode) => statusCode switch
    {
        StatusCodes.Status401Unauthorized => (ErrorCodes.InvalidApiKey, "The request is not authenticated: its API key or token is missing or not valid for this endpoint."),
        StatusCodes.Status403Forbidden => (PermissionDenied, "The request's credentials are valid but not allowed to use this endpoint."),
        StatusCodes.Status429TooManyRequests => (RateLimitExceeded, "Too many requests: the rate limit for this endpoint was reached. Retry later."),
        StatusCodes.Status404NotFound => (ErrorCodes.NotFound, "Nothing is served at this path."),
        StatusCodes.Status413PayloadTooLarge => (ErrorCodes.RequestTooLarge, "The request body is too large."),
        StatusCodes.Status503ServiceUnavailable => (ServiceUnavailable, "The service is unavailable for now. Retry later."),
        >= 500 => (ErrorCodes.ServerError, ErrorMapping.UnexpectedMessage),
        _ => (ErrorCodes.InvalidRequest, $"The request was refused ({statusCode})."),
    };

    /// <summary><c>error.code</c> of a 403 the host's authorization chose: the caller is known, but not allowed.</summary>
    internal const string PermissionDenied = "permission_denied";

    /// <summary><c>error.code</c> of a 429 the host's rate limiting chose, as OpenAI's own rate limits say it.</summary>
    internal const string RateLimitExceeded = "rate_limit_exceeded";

    /// <summary><c>error.code</c> of a 503 the host chose (rate limiting's default rejection status).</summary>
    internal const string ServiceUnavailable = "service_unavailable";

    /// <summary>
    /// Writes the envelope for the response's status when it is an error status and nothing of the body has been
    /// written yet; otherwise leaves the response as it is (a redirect to a login page, a body of the host's own).
    /// </summary>
    /// <param name="context">The exchange.</param>
    /// <returns>Whether the envelope was written.</returns>
    public static async Task<bool> TryWriteAsync(HttpContext context)
    {
        var response = context.Response;
        if (response.HasStarted || response.StatusCode < 400 || response.ContentLength > 0)
        {
            return false;
        }

        var (code, message) = Describe(response.StatusCode);
        var body = ControlError.ToJsonUtf8(response.StatusCode, code, message);
        response.ContentType = ContentTypes.Json;
        response.ContentLength = body.Length;
        try
        {
            await response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            // The client is gone.
        }

        return true;
    }
}
