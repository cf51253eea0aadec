namespace Luthien.Control;

/// <summary>
/// A failure of the library's own making, with a message safe to show: a policy that failed (500 <c>policy_error</c>,
/// e.g. it held back more than the limits allow) or a server that cannot serve as configured (500 <c>server_error</c>).
/// Internal: a policy that fails throws whatever it throws, and the client sees a 500 either way.
/// </summary>
internal sealed class ControlFailureException : ControlException
{
    /// <summary>What a client is told of a policy that threw something not ours while the answer streamed (its detail goes to the log).</summary>
    internal const string PolicyFailedMessage = "A policy failed while the response was streamed.";

    private ControlFailureException(ControlErrorKind kind, string code, string message, Exception? innerException = null)
        : base(kind, 500, code, message, null, innerException)
    {
    }

    /// <summary>A 500 <c>policy_error</c>.</summary>
    /// <param name="message">What the policy failed at; shown to the client.</param>
    /// <param name="innerException">What the policy threw, for the logs; never shown.</param>
    public static ControlFailureException PolicyFailure(string message, Exception? innerException = null) =>
        new(ControlErrorKind.PolicyFailure, ErrorCodes.PolicyError, message, innerException);

    /// <summary>A 500 <c>server_error</c> the server can explain, e.g. a setting that is missing.</summary>
    /// <param name="message">What is wrong; shown to the client, so it names a setting, never its value.</param>
    public static ControlFailureException Internal(string message) =>
        new(ControlErrorKind.Internal, ErrorCodes.ServerError, message);

    /// <summary>The 500 <c>policy_error</c> of a policy that threw something not ours while the answer streamed.</summary>
    /// <param name="innerException">What the policy threw, for the logs; never shown.</param>
    public static ControlFailureException PolicyFailedMidStream(Exception innerException) =>
        PolicyFailure(PolicyFailedMessage, innerException);

    /// <summary>The 500 <c>server_error</c> of a policy chain that ran to its end and set no response.</summary>
    public static ControlFailureException NoResponse() =>
        Internal("The policy chain produced no response (is SendBackendRequest missing?).");
}
