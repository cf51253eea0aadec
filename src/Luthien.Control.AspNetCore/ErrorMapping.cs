using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// The one place where a failure — one of ours or any other exception — becomes what everyone sees of it: the kind
/// recorded for the transaction (the <c>error.type</c> of its span and metrics), the HTTP status, the JSON error body,
/// the SSE error event, and what the logs say. Nothing else classifies exceptions.
/// </summary>
/// <remarks>
/// As in YARP's forwarder, a failure is classified once and mapped to a status only while the response has not started;
/// after that it can only be a stream's last event. A client that went away gets nothing: nobody is left to read it.
/// </remarks>
internal static class ErrorMapping
{
    /// <summary>The message for an exception nobody expected: its detail goes to the log, never to the client.</summary>
    internal const string UnexpectedMessage = "The request could not be processed.";

    /// <summary>Classifies a failure before the response has started: it becomes a JSON error with its own status.</summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="clientGone">Whether the client has gone away (its request was aborted).</param>
    /// <param name="maxRequestBodyBytes">The request body limit, named when the server refused a body as too large.</param>
    public static ControlError Map(Exception exception, bool clientGone, long maxRequestBodyBytes)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (clientGone && exception is not ControlException)
        {
            return ControlError.ClientDisconnected(exception);
        }

        return exception switch
        {
            ControlException control => new(control, control),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new(InvalidRequestException.TooLarge(maxRequestBodyBytes), exception),
            BadHttpRequestException bad => new(new InvalidRequestException($"The request could not be read ({bad.StatusCode})."), exception),
            _ => new(ControlErrorKind.Internal, StatusCodes.Status500InternalServerError, ErrorCodes.ServerError, UnexpectedMessage, null, exception),
        };
    }

    /// <summary>
    /// Classifies a failure after a stream has begun (the status is sent): a backend failure keeps its kind and code; any
    /// other is a policy failure, <c>policy_error</c>, keeping the message only when it is one of ours.
    /// </summary>
    /// <param name="exception">What was thrown.</param>
    /// <param name="clientGone">Whether the client has gone away (its request was aborted).</param>
    public static ControlError MapMidStream(Exception exception, bool clientGone)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (clientGone && exception is not ControlException)
        {
            return ControlError.ClientDisconnected(exception);
        }

        return exception switch
        {
            BackendException backend => new(backend, backend),
            ControlException control => new(ControlErrorKind.PolicyFailure, StatusCodes.Status500InternalServerError, ErrorCodes.PolicyError, control.Message, null, exception),
            _ => new(ControlErrorKind.PolicyFailure, StatusCodes.Status500InternalServerError, ErrorCodes.PolicyError, ControlFailureException.PolicyFailedMessage, null, exception),
        };
    }
}
