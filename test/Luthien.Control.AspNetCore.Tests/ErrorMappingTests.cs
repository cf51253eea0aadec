using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.Streaming;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>The one mapping from a failure to what the client, the log and the telemetry see of it.</summary>
public class ErrorMappingTests
{
    private const long Limit = 1234;

    private static IEnumerable<TestCaseData> BeforeOutput()
    {
        yield return Case(new InvalidRequestException("'messages' is required.", "messages"), ControlErrorKind.InvalidRequest, 400, "invalid_request_error", "invalid_request");
        yield return Case(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge), ControlErrorKind.RequestTooLarge, 413, "invalid_request_error", "request_too_large");
        yield return Case(new BadHttpRequestException("Malformed chunk.", StatusCodes.Status400BadRequest), ControlErrorKind.InvalidRequest, 400, "invalid_request_error", "invalid_request");
        yield return Case(PassthroughAllowList.Parse(null).Check("GET", "files")!, ControlErrorKind.NotFound, 404, "invalid_request_error", "not_found");
        yield return Case(ControlPolicyException.InvalidApiKey("Incorrect API key provided."), ControlErrorKind.Unauthorized, 401, "authentication_error", "invalid_api_key");
        yield return Case(ControlPolicyException.PolicyViolation("Refused."), ControlErrorKind.PolicyRejection, 403, "permission_error", "content_policy_violation");
        yield return Case(ControlPolicyException.PolicyViolation("Slow down.", 429), ControlErrorKind.PolicyRejection, 429, "rate_limit_error", "content_policy_violation");
        yield return Case(BackendException.Unavailable(new HttpRequestException("connection refused")), ControlErrorKind.BackendUnavailable, 502, "server_error", "backend_unavailable");
        yield return Case(BackendException.Timeout(), ControlErrorKind.BackendTimeout, 504, "server_error", "backend_timeout");
        yield return Case(BackendException.InvalidResponse("it is not JSON."), ControlErrorKind.BackendInvalidResponse, 502, "server_error", "backend_invalid_response");
        yield return Case(new InvalidOperationException("boom"), ControlErrorKind.Internal, 500, "server_error", "server_error");

        static TestCaseData Case(Exception exception, ControlErrorKind kind, int status, string type, string code) =>
            new TestCaseData(exception, kind, status, type, code).SetArgDisplayNames(kind.ToString(), status.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestCaseSource(nameof(BeforeOutput))]
    public void Map_EachKind_GivesItsStatusTypeAndCode(Exception exception, ControlErrorKind kind, int status, string type, string code)
    {
        var error = ErrorMapping.Map(exception, clientGone: false, Limit);

        Assert.That(error.Kind, Is.EqualTo(kind));
        Assert.That(error.StatusCode, Is.EqualTo(status));
        Assert.That(error.Type, Is.EqualTo(type));
        Assert.That(error.Code, Is.EqualTo(code));
    }

    [Test]
    public void Map_OurException_KeepsMessageAndParam()
    {
        var error = ErrorMapping.Map(new InvalidRequestException("'messages' is required.", "messages"), clientGone: false, Limit);

        Assert.That(error.Message, Is.EqualTo("'messages' is required."));
        Assert.That(error.Param, Is.EqualTo("messages"));
    }

    [Test]
    public void Map_ServerRefusedBodyAsTooLarge_NamesTheConfiguredLimit()
    {
        var error = ErrorMapping.Map(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge), clientGone: false, Limit);

        Assert.That(error.Message, Does.Contain("1234 bytes"));
    }

    [Test]
    public void Map_UnknownException_Gives500ServerErrorWithNoDetail()
    {
        var secret = "sk-proj-" + new string('a', 40);
        Exception thrown;
        try
        {
            throw new InvalidOperationException($"bug while handling {secret}");
        }
        catch (InvalidOperationException ex)
        {
            thrown = ex;
        }

        var error = ErrorMapping.Map(thrown, clientGone: false, Limit);
        var body = Encoding.UTF8.GetString(error.ToJsonUtf8());

        Assert.That(error.StatusCode, Is.EqualTo(500));
        Assert.That(error.Code, Is.EqualTo("server_error"));
        Assert.That(error.IsUnexpected, Is.True);
        Assert.That(body, Does.Not.Contain(secret).And.Not.Contain("bug").And.Not.Contain("InvalidOperationException").And.Not.Contain(" at "));
        Assert.That(error.Exception, Is.SameAs(thrown), "the detail is kept for the log");
    }

    [Test]
    public void Map_ServerErrorWeCanExplain_IsNotUnexpected()
    {
        var error = ErrorMapping.Map(BackendException.Timeout(), clientGone: false, Limit);

        Assert.That(error.IsUnexpected, Is.False);
    }

    [Test]
    public void Map_BackendFailure_LogsTheTransportFailureBehindIt()
    {
        var transport = new HttpRequestException("connection refused");

        var error = ErrorMapping.Map(BackendException.Unavailable(transport), clientGone: false, Limit);

        Assert.That(error.LoggedException, Is.SameAs(transport));
    }

    [Test]
    public void Map_CanceledWithClientGone_IsClientDisconnected()
    {
        var error = ErrorMapping.Map(new OperationCanceledException(), clientGone: true, Limit);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.ClientDisconnected));
    }

    [Test]
    public void Map_IoFailureWithClientGone_IsClientDisconnected()
    {
        var error = ErrorMapping.Map(new IOException("connection reset"), clientGone: true, Limit);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.ClientDisconnected));
    }

    [Test]
    public void Map_CanceledWithClientStillThere_IsInternal()
    {
        var error = ErrorMapping.Map(new OperationCanceledException(), clientGone: false, Limit);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.Internal));
        Assert.That(error.StatusCode, Is.EqualTo(500));
    }

    [Test]
    public void Map_PolicyDecisionWhileClientGoes_KeepsTheDecision()
    {
        var error = ErrorMapping.Map(ControlPolicyException.PolicyViolation("Refused."), clientGone: true, Limit);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.PolicyRejection));
    }

    [Test]
    public void MapMidStream_PolicyThrows_IsPolicyErrorWithNoDetail()
    {
        var error = ErrorMapping.MapMidStream(new InvalidOperationException("bug in a policy, with internal details"), clientGone: false);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.PolicyFailure));
        Assert.That(error.Type, Is.EqualTo("server_error"));
        Assert.That(error.Code, Is.EqualTo("policy_error"));
        Assert.That(error.Message, Is.EqualTo(ControlFailureException.PolicyFailedMessage));
    }

    [Test]
    public void MapMidStream_PolicyOverItsHoldLimit_IsPolicyErrorWithItsMessage()
    {
        var filter = new StreamingPatternFilter(new ContentPatterns(["sk-[a-z]{20,}"]), ContentAction.Redact, "[R]", 10);
        var thrown = Assert.Catch<ControlException>(() => filter.Append("sk-abcdefghijklm"))!;

        var error = ErrorMapping.MapMidStream(thrown, clientGone: false);

        Assert.That(error.Code, Is.EqualTo("policy_error"));
        Assert.That(error.Message, Does.Contain("limit of 10"));
    }

    [Test]
    public void MapMidStream_PolicyRejects_IsPolicyError()
    {
        var error = ErrorMapping.MapMidStream(ControlPolicyException.PolicyViolation("Refused."), clientGone: false);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.PolicyFailure));
        Assert.That(error.Code, Is.EqualTo("policy_error"));
        Assert.That(error.Message, Is.EqualTo("Refused."));
    }

    [TestCase(ControlErrorKind.BackendUnavailable, "backend_unavailable")]
    [TestCase(ControlErrorKind.BackendTimeout, "backend_timeout")]
    [TestCase(ControlErrorKind.BackendInvalidResponse, "backend_invalid_response")]
    public void MapMidStream_BackendFails_KeepsItsKindAndCode(ControlErrorKind kind, string code)
    {
        var thrown = kind switch
        {
            ControlErrorKind.BackendUnavailable => BackendException.Unavailable(),
            ControlErrorKind.BackendTimeout => BackendException.Timeout("the next chunk"),
            _ => BackendException.InvalidResponse("it sent an event larger than the limit."),
        };

        var error = ErrorMapping.MapMidStream(thrown, clientGone: false);

        Assert.That(error.Kind, Is.EqualTo(kind));
        Assert.That(error.Code, Is.EqualTo(code));
        Assert.That(ControlErrorKinds.IsBackendFailure(error.Kind), Is.True);
    }

    [Test]
    public void MapMidStream_CanceledWithClientGone_IsClientDisconnected()
    {
        var error = ErrorMapping.MapMidStream(new OperationCanceledException(), clientGone: true);

        Assert.That(error.Kind, Is.EqualTo(ControlErrorKind.ClientDisconnected));
    }

    [Test]
    public void ToJsonUtf8_WritesTheOpenAiEnvelopeWithNullParam()
    {
        var error = ErrorMapping.Map(ControlPolicyException.InvalidApiKey("Incorrect API key provided."), clientGone: false, Limit);

        var json = Encoding.UTF8.GetString(error.ToJsonUtf8());

        Assert.That(json, Is.EqualTo("""{"error":{"message":"Incorrect API key provided.","type":"authentication_error","param":null,"code":"invalid_api_key"}}"""));
    }

    [Test]
    public void ToJsonUtf8_WithParam_WritesIt()
    {
        var error = ErrorMapping.Map(new InvalidRequestException("'stream' must be a boolean.", "stream"), clientGone: false, Limit);

        var envelope = JsonNode.Parse(error.ToJsonUtf8())!["error"]!;

        Assert.That(envelope["param"]!.GetValue<string>(), Is.EqualTo("stream"));
    }

    [Test]
    public async Task WriteEventAsync_WritesTheSameEnvelopeAsTheJsonBody()
    {
        var error = ErrorMapping.MapMidStream(new InvalidOperationException("bug"), clientGone: false);
        var output = new MemoryStream();
        var pipe = PipeWriter.Create(output);

        await error.WriteEventAsync(new SseEventWriter(pipe), default);
        await pipe.CompleteAsync();

        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.That(text, Is.EqualTo($"data: {Encoding.UTF8.GetString(error.ToJsonUtf8())}\n\n"));
        Assert.That(text, Is.EqualTo("data: {\"error\":{\"message\":\"A policy failed while the response was streamed.\",\"type\":\"server_error\",\"param\":null,\"code\":\"policy_error\"}}\n\n"));
    }
}
