using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>
/// Policies that do not touch the answer (TransactionContextLoggingPolicy, NoopPolicy) on every policed API, buffered
/// and streamed, by every route style, to OpenAI- and Azure-style backends: the client gets what the backend sent, byte
/// for byte when streamed, the same JSON when buffered.
/// </summary>
public class PassThroughMatrixTests
{
    private static IEnumerable<TestCaseData> Cells() =>
        from cell in MatrixRequests.Cells(RouteStyle.OpenAI, RouteStyle.AzureDeployment, RouteStyle.AzureV1, RouteStyle.AzureResponses)
        from chain in new[] { Chain.Logging, Chain.Noop }
        from azureBackend in new[] { false, true }
        select new TestCaseData([.. cell.Arguments, chain, azureBackend]);

    /// <summary>Streams of chat and legacy completions whose client asks for usage itself.</summary>
    private static IEnumerable<TestCaseData> UsageCells() =>
        from api in new[] { ModelApi.Chat, ModelApi.Completions }
        from route in new[] { RouteStyle.OpenAI, RouteStyle.AzureDeployment }
        from chain in new[] { Chain.Logging, Chain.Noop }
        select new TestCaseData(api, route, chain);

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [TestCaseSource(nameof(Cells))]
    public async Task Post_AnswerUntouchedByPolicy_ClientGetsWhatBackendSent(ModelApi api, bool stream, RouteStyle route, Chain chain, bool azureBackend)
    {
        var answer = await MatrixAnswers.SendAsync(BackendKind.Raw, chain, api, stream, route, MatrixTurns.Full, azureBackend);

        MatrixAnswers.AssertAsBackendSent(api, stream, MatrixTurns.Full, answer);
        var recorded = CoverageHosts.Backend.Requests.Single();
        Assert.That(recorded.PathAndQuery, azureBackend ? Does.StartWith("/openai/") : Does.StartWith("/v1/"));
    }

    [TestCaseSource(nameof(UsageCells))]
    public async Task Post_StreamClientAsksUsage_UsageChunkPassesByteForByte(ModelApi api, RouteStyle route, Chain chain)
    {
        var answer = await MatrixAnswers.SendAsync(
            BackendKind.Raw, chain, api, stream: true, route, MatrixTurns.Full, shape: body => body["stream_options"] = new JsonObject { ["include_usage"] = true });

        MatrixAnswers.AssertAsBackendSent(api, stream: true, MatrixTurns.Full, answer, clientAskedUsage: true);
        Assert.That(answer.Raw, Does.Contain("\"total_tokens\":21"));
    }
}
