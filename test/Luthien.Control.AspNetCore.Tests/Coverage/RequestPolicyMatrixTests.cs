using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>
/// The request-side built-ins (ClientApiKeyAuth, LeakedApiKeyDetection, ModelNameReplacement) on every policed API,
/// buffered and streamed, by every route style: what the client gets and what the backend gets.
/// </summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class RequestPolicyMatrixTests(BackendKind backend)
{
    private readonly BackendKind _backend = backend;

    /// <summary>A key the default patterns know (<c>sk-</c> and 48 letters or digits).</summary>
    private const string LeakedKey = "sk-" + "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34";

    private static readonly ScriptedTurn Hello = new() { Text = ["Hel", "lo"] };

    private LuthienTestHost _app = null!;

    private static IEnumerable<TestCaseData> Cells => MatrixRequests.Cells(RouteStyle.OpenAI, RouteStyle.AzureDeployment, RouteStyle.AzureV1, RouteStyle.AzureResponses);

    private static IEnumerable<TestCaseData> KeyedCells() =>
        from cell in MatrixRequests.Cells(RouteStyle.OpenAI, RouteStyle.AzureDeployment, RouteStyle.AzureV1, RouteStyle.AzureResponses)
        from credential in new[] { Credential.Bearer, Credential.ApiKey }
        select new TestCaseData([.. cell.Arguments, credential]);

    private static IEnumerable<TestCaseData> RefusedKeyCells() =>
        from cell in MatrixRequests.Cells()
        from credential in new[] { Credential.None, Credential.WrongBearer, Credential.WrongApiKey }
        select new TestCaseData([.. cell.Arguments, credential]);

    /// <summary>Where a leaked key can sit in each API's request: chat message, Responses input or instructions, legacy prompt.</summary>
    private static IEnumerable<TestCaseData> LeakCells()
    {
        foreach (var cell in MatrixRequests.Cells())
        {
            var api = (ModelApi)cell.Arguments[0]!;
            yield return new TestCaseData([.. cell.Arguments, "text"]);
            if (api == ModelApi.Responses)
            {
                yield return new TestCaseData([.. cell.Arguments, "instructions"]);
                yield return new TestCaseData([.. cell.Arguments, "input item"]);
            }
        }
    }

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await CoverageHosts.GetAsync(Chain.RequestSide, _backend);

    [SetUp]
    public void ResetBackend()
    {
        CoverageHosts.Backend.Reset();
        CoverageHosts.Backend.Handler = ScriptedModel.Answering(Hello);
    }

    [TestCaseSource(nameof(RefusedKeyCells))]
    public async Task Post_NoOrWrongClientKey_401InvalidApiKeyAndBackendNeverCalled(ModelApi api, bool stream, RouteStyle route, Credential credential)
    {
        var (status, contentType, body) = await MatrixRequests.SendAsync(_app, MatrixRequests.Target(api, route), MatrixRequests.Body(api, route, stream), credential);

        Assert.That(status, Is.EqualTo(401), body);
        Assert.That(contentType, Is.EqualTo("application/json"));
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("invalid_api_key"));
        Assert.That(body, Does.Not.Contain("not-the-key"));
        Assert.That(CoverageHosts.Backend.Requests, Is.Empty);
    }

    [TestCaseSource(nameof(KeyedCells))]
    public async Task Post_RightClientKeyEitherHeader_200WithTheAnswerAndTheKeyNotForwarded(ModelApi api, bool stream, RouteStyle route, Credential credential)
    {
        BackendKinds.AssumeServes(_backend, api);
        var (status, _, body) = await MatrixRequests.SendAsync(_app, MatrixRequests.Target(api, route), MatrixRequests.Body(api, route, stream), credential);

        Assert.That(status, Is.EqualTo(200), body);
        Assert.That(WireAnswer.Read(api, stream, body).Text, Is.EqualTo("Hello"));
        var recorded = CoverageHosts.Backend.Requests.Single();
        Assert.That(recorded.Headers["Authorization"], Is.EqualTo("Bearer backend-key"));
        Assert.That(recorded.Headers.ContainsKey("api-key"), Is.False);
        Assert.That(recorded.Headers.Values, Has.None.Contain(CoverageHosts.ClientKey));
    }

    [TestCaseSource(nameof(LeakCells))]
    public async Task Post_KeyLikeSecretInRequestText_403AndBackendNeverCalled(ModelApi api, bool stream, RouteStyle route, string where)
    {
        var request = MatrixRequests.Body(api, route, stream, text: where == "text" ? $"please use {LeakedKey} for it" : "hi");
        if (where == "instructions")
        {
            request["instructions"] = $"The key is {LeakedKey}.";
        }
        else if (where == "input item")
        {
            request["input"] = new JsonArray(new JsonObject
            {
                ["type"] = "message",
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = "hi" }, new JsonObject { ["type"] = "input_text", ["text"] = LeakedKey }),
            });
        }

        var (status, contentType, body) = await MatrixRequests.SendAsync(_app, MatrixRequests.Target(api, route), request, MatrixRequests.DefaultCredential(route));

        Assert.That(status, Is.EqualTo(403), body);
        Assert.That(contentType, Is.EqualTo("application/json"));
        Assert.That(JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>(), Is.EqualTo("content_policy_violation"));
        Assert.That(body, Does.Not.Contain(LeakedKey[3..]));
        Assert.That(CoverageHosts.Backend.Requests, Is.Empty);
    }

    [TestCaseSource(nameof(Cells))]
    public async Task Post_MappedModel_BackendReceivesTheMappedModel(ModelApi api, bool stream, RouteStyle route)
    {
        BackendKinds.AssumeServes(_backend, api);
        // The deployment route names the model by its path; the others in the body.
        var (status, _, body) = await MatrixRequests.SendAsync(
            _app, MatrixRequests.Target(api, route, deployment: "fast"), MatrixRequests.Body(api, route, stream, model: "fast"), MatrixRequests.DefaultCredential(route));

        Assert.That(status, Is.EqualTo(200), body);
        var recorded = CoverageHosts.Backend.Requests.Single();
        Assert.That(JsonNode.Parse(recorded.Body)!["model"]!.GetValue<string>(), Is.EqualTo("gpt-4o-mini"));
        Assert.That(recorded.PathAndQuery, Does.Not.Contain("fast"));
        Assert.That(WireAnswer.Read(api, stream, body).Text, Is.EqualTo("Hello"));
    }

    [TestCaseSource(nameof(Cells))]
    public async Task Post_UnmappedModel_BackendReceivesItUnchanged(ModelApi api, bool stream, RouteStyle route)
    {
        BackendKinds.AssumeServes(_backend, api);
        var (status, _, body) = await MatrixRequests.SendAsync(
            _app, MatrixRequests.Target(api, route, deployment: "my-dep"), MatrixRequests.Body(api, route, stream, model: "my-dep"), MatrixRequests.DefaultCredential(route));

        Assert.That(status, Is.EqualTo(200), body);
        Assert.That(JsonNode.Parse(CoverageHosts.Backend.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("my-dep"));
    }
}
