namespace Luthien.Control.Tests.Errors;

/// <summary>Each exception of the family carries its kind, status, code and type from the factory that made it.</summary>
public class ControlExceptionTests
{
    private static IEnumerable<TestCaseData> Family()
    {
        yield return Case(new InvalidRequestException("bad"), ControlErrorKind.InvalidRequest, 400, "invalid_request", "invalid_request_error");
        yield return Case(InvalidRequestException.TooLarge(10), ControlErrorKind.RequestTooLarge, 413, "request_too_large", "invalid_request_error");
        yield return Case(InvalidRequestException.NotFound("nothing here"), ControlErrorKind.NotFound, 404, "not_found", "invalid_request_error");
        yield return Case(ControlPolicyException.InvalidApiKey("no key"), ControlErrorKind.Unauthorized, 401, "invalid_api_key", "authentication_error");
        yield return Case(ControlPolicyException.PolicyViolation("no"), ControlErrorKind.PolicyRejection, 403, "content_policy_violation", "permission_error");
        yield return Case(BackendException.Unavailable(), ControlErrorKind.BackendUnavailable, 502, "backend_unavailable", "server_error");
        yield return Case(BackendException.BrokeOff(new IOException("reset")), ControlErrorKind.BackendUnavailable, 502, "backend_unavailable", "server_error");
        yield return Case(BackendException.EndedEarly(), ControlErrorKind.BackendUnavailable, 502, "backend_unavailable", "server_error");
        yield return Case(BackendException.NotConfigured(), ControlErrorKind.BackendUnavailable, 502, "backend_unavailable", "server_error");
        yield return Case(BackendException.TooLarge(10), ControlErrorKind.BackendUnavailable, 502, "backend_unavailable", "server_error");
        yield return Case(BackendException.Timeout(), ControlErrorKind.BackendTimeout, 504, "backend_timeout", "server_error");
        yield return Case(BackendException.InvalidResponse("not JSON."), ControlErrorKind.BackendInvalidResponse, 502, "backend_invalid_response", "server_error");
        yield return Case(ControlFailureException.PolicyFailure("held too much"), ControlErrorKind.PolicyFailure, 500, "policy_error", "server_error");
        yield return Case(ControlFailureException.Internal("no key configured"), ControlErrorKind.Internal, 500, "server_error", "server_error");

        static TestCaseData Case(ControlException exception, ControlErrorKind kind, int status, string code, string type) =>
            new TestCaseData(exception, kind, status, code, type).SetArgDisplayNames(exception.GetType().Name, code);
    }

    [TestCaseSource(nameof(Family))]
    public void Factory_EachFailure_CarriesKindStatusCodeAndType(ControlException exception, ControlErrorKind kind, int status, string code, string type)
    {
        Assert.That(exception.Kind, Is.EqualTo(kind));
        Assert.That(exception.StatusCode, Is.EqualTo(status));
        Assert.That(exception.Code, Is.EqualTo(code));
        Assert.That(exception.Type, Is.EqualTo(type));
    }

    [TestCase(401, "authentication_error")]
    [TestCase(429, "rate_limit_error")]
    [TestCase(451, "invalid_request_error")]
    [TestCase(503, "server_error")]
    public void PolicyViolation_OwnStatus_KeepsCodeAndDerivesType(int status, string type)
    {
        var ex = ControlPolicyException.PolicyViolation("no", status);

        Assert.That(ex.StatusCode, Is.EqualTo(status));
        Assert.That(ex.Code, Is.EqualTo("content_policy_violation"));
        Assert.That(ex.Kind, Is.EqualTo(ControlErrorKind.PolicyRejection));
        Assert.That(ex.Type, Is.EqualTo(type));
    }

    [TestCase(200)]
    [TestCase(399)]
    [TestCase(600)]
    public void PolicyViolation_NotAnErrorStatus_Throws(int status)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ControlPolicyException.PolicyViolation("no", status));
    }

    [Test]
    public void InvalidRequestException_Param_IsKept()
    {
        var ex = new InvalidRequestException("'model' is required.", "model");

        Assert.That(ex.Param, Is.EqualTo("model"));
        Assert.That(ex.Message, Is.EqualTo("'model' is required."));
    }

    [Test]
    public void BackendUnavailable_TransportFailure_IsInnerNotMessage()
    {
        var transport = new HttpRequestException("Connection refused (10.0.0.7:443)");

        var ex = BackendException.Unavailable(transport);

        Assert.That(ex.InnerException, Is.SameAs(transport));
        Assert.That(ex.Message, Does.Not.Contain("10.0.0.7"));
    }
}
