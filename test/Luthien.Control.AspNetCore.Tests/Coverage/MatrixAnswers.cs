using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>Sends a matrix cell's request to a chain's app, and the assertions every cell shares.</summary>
internal static class MatrixAnswers
{
    /// <summary>Why a byte-for-byte comparison with the backend's answer is the raw backend's only.</summary>
    internal const string NotByteForByte =
        "the answer is the IChatClient's translation, not the backend's bytes (its logprobs, annotations, service_tier, system_fingerprint, obfuscation are not carried).";

    /// <summary>
    /// The answer is what the backend sent: byte for byte when streamed (the usage the library asked for on its own
    /// taken out again), the same JSON when buffered.
    /// </summary>
    internal static void AssertAsBackendSent(ModelApi api, bool stream, ScriptedTurn turn, WireAnswer answer, bool clientAskedUsage = false)
    {
        if (stream)
        {
            Assert.That(answer.Raw, Is.EqualTo(string.Concat(ScriptedModel.Streamed(api, turn, "gpt-4o", clientAskedUsage))), "the stream passes byte for byte");
        }
        else
        {
            Assert.That(JsonNode.DeepEquals(answer.Body, JsonNode.Parse(ScriptedModel.Buffered(api, turn, "gpt-4o"))), Is.True, answer.Raw);
        }
    }

    /// <summary>
    /// Sends the cell's request (its route's default credential) to the app of <paramref name="chain"/> on a <paramref name="kind"/> backend, the backend
    /// answering <paramref name="turn"/>; checks it was served (200, the content type of the mode) and, for a Responses
    /// stream, that it is consistent (<see cref="WireAnswer.AssertResponsesStreamConsistent"/>).
    /// </summary>
    internal static async Task<WireAnswer> SendAsync(
        BackendKind kind, Chain chain, ModelApi api, bool stream, RouteStyle route, ScriptedTurn turn, bool azureBackend = false, Action<JsonObject>? shape = null)
    {
        BackendKinds.AssumeServes(kind, api);
        var app = await CoverageHosts.GetAsync(chain, kind, azureBackend);
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(turn);
        var request = MatrixRequests.Body(api, route, stream);
        shape?.Invoke(request);
        var (status, contentType, body) = await MatrixRequests.SendAsync(app, MatrixRequests.Target(api, route), request, MatrixRequests.DefaultCredential(route));
        Assert.That(status, Is.EqualTo(200), body);
        Assert.That(contentType, Is.EqualTo(stream ? "text/event-stream" : "application/json"));
        var answer = WireAnswer.Read(api, stream, body);
        if (stream && api == ModelApi.Responses)
        {
            answer.AssertResponsesStreamConsistent();
        }

        return answer;
    }

    /// <summary>No piece of the secret in any byte: as text, and as the logprob byte values of a piece.</summary>
    internal static void AssertNoSecret(WireAnswer answer)
    {
        foreach (var fragment in ScriptedTurn.SecretFragments)
        {
            Assert.That(answer.Raw, Does.Not.Contain(fragment));
            Assert.That(answer.Raw, Does.Not.Contain(string.Join(",", Encoding.UTF8.GetBytes(fragment))), "as logprob bytes");
        }
    }

    internal static void AssertEndedNormally(ModelApi api, WireAnswer answer, bool toolCall)
    {
        if (api == ModelApi.Responses)
        {
            Assert.That(answer.Status, Is.EqualTo("completed"));
            Assert.That(answer.IncompleteReason, Is.Null);
            return;
        }

        Assert.That(answer.FinishReason, Is.EqualTo(toolCall ? "tool_calls" : "stop"));
        AssertDoneIfStreamed(answer);
    }

    internal static void AssertEndedByFilter(ModelApi api, WireAnswer answer)
    {
        if (api == ModelApi.Responses)
        {
            Assert.That(answer.Status, Is.EqualTo("incomplete"));
            Assert.That(answer.IncompleteReason, Is.EqualTo("content_filter"));
            if (answer.Events.Count > 0)
            {
                Assert.That(answer.Events[^1].Name, Is.EqualTo("response.incomplete"));
            }

            return;
        }

        Assert.That(answer.FinishReason, Is.EqualTo("content_filter"));
        AssertDoneIfStreamed(answer);
    }

    private static void AssertDoneIfStreamed(WireAnswer answer)
    {
        if (answer.Events.Count > 0)
        {
            Assert.That(answer.Events[^1].Data, Is.EqualTo("[DONE]"));
            Assert.That(answer.Events.Count(e => e.Data == "[DONE]"), Is.EqualTo(1));
            Assert.That(answer.Raw, Does.EndWith("data: [DONE]\n\n"));
        }
    }
}
