using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>
/// ToolCallPolicy on the APIs with tools (chat, Responses), buffered and streamed, by every route style: an allowed
/// call passes intact; a call of a tool not allowed, or with arguments a rule blocks, never shows in any byte (in a
/// Responses stream not even its <c>response.output_item.added</c>) and the answer ends as a filtered one.
/// </summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class ToolCallMatrixTests(BackendKind backend)
{
    private readonly BackendKind _backend = backend;

    private static IEnumerable<TestCaseData> Cells() => MatrixRequests.CellsOf([ModelApi.Chat, ModelApi.Responses]);

    private static IEnumerable<TestCaseData> RefusedCells() =>
        from cell in Cells()
        from refused in new[] { "tool not allowed", "arguments blocked" }
        select new TestCaseData([.. cell.Arguments, refused]);

    /// <summary>Answers whose parts have an order: streams, and Responses' output items (a buffered chat message's content and calls have none).</summary>
    private static IEnumerable<TestCaseData> OrderedCells() =>
        Cells().Where(c => (ModelApi)c.Arguments[0]! == ModelApi.Responses || (bool)c.Arguments[1]!);

    [SetUp]
    public void ResetBackend() => CoverageHosts.Backend.Reset();

    [TestCaseSource(nameof(Cells))]
    public async Task Post_AllowedCall_PassesIntact(ModelApi api, bool stream, RouteStyle route)
    {
        var answer = await MatrixAnswers.SendAsync(_backend, Chain.ToolCalls, api, stream, route, MatrixTurns.AllowedCall);

        var call = answer.Calls.Single();
        Assert.That(call.Name, Is.EqualTo("get_weather"));
        Assert.That(call.Arguments, Is.EqualTo("""{"city":"Paris"}"""));
        Assert.That(call.Id, Is.EqualTo(ScriptedModel.CallId));
        Assert.That(answer.Text, Is.EqualTo("Let me look."));
        MatrixAnswers.AssertEndedNormally(api, answer, toolCall: true);
        BackendKinds.AssumeRawWire(_backend, MatrixAnswers.NotByteForByte);
        MatrixAnswers.AssertAsBackendSent(api, stream, MatrixTurns.AllowedCall, answer);
    }

    [TestCaseSource(nameof(RefusedCells))]
    public async Task Post_RefusedCall_NeverShownAndAnswerEndsContentFilter(ModelApi api, bool stream, RouteStyle route, string refused)
    {
        var turn = refused == "tool not allowed" ? MatrixTurns.DisallowedCall : MatrixTurns.BlockedArguments;

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.ToolCalls, api, stream, route, turn);

        Assert.That(answer.Calls, Is.Empty);
        Assert.That(answer.Raw, Does.Not.Contain(turn.Call!.Name));
        Assert.That(answer.Raw, Does.Not.Contain(ScriptedModel.CallId));
        Assert.That(answer.Raw, Does.Not.Contain("fc_scripted1"));
        Assert.That(answer.Raw, Does.Not.Contain("passwd").And.Not.Contain("DROP"));
        Assert.That(answer.Raw, Does.Not.Contain("function_call"), "no item of the call, not even its output_item.added");
        Assert.That(answer.Text, Is.EqualTo("Let me look."), "text before the call is shown");
        MatrixAnswers.AssertEndedByFilter(api, answer);
    }
    [TestCaseSource(nameof(Cells))]
    public async Task Post_AllowedThenRefusedCall_AllowedPassesRefusedNeverShown(ModelApi api, bool stream, RouteStyle route)
    {
        var turn = new ScriptedTurn { Calls = [MatrixTurns.AllowedCall.Call!, MatrixTurns.DisallowedCall.Call!] };

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.ToolCalls, api, stream, route, turn);

        Assert.That(answer.Calls.Select(c => (c.Id, c.Name, c.Arguments)), Is.EqualTo(new[] { ((string?)ScriptedModel.CallId, (string?)"get_weather", """{"city":"Paris"}""") }));
        Assert.That(answer.Raw, Does.Not.Contain("delete_files").And.Not.Contain("call_scripted2").And.Not.Contain("passwd"));
        MatrixAnswers.AssertEndedByFilter(api, answer);
    }

    [TestCaseSource(nameof(Cells))]
    public async Task Post_RefusedCallThenAllowedCall_NeitherShown(ModelApi api, bool stream, RouteStyle route)
    {
        var turn = new ScriptedTurn { Calls = [MatrixTurns.DisallowedCall.Call!, MatrixTurns.AllowedCall.Call!] };

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.ToolCalls, api, stream, route, turn);

        Assert.That(answer.Calls, Is.Empty, "calls after a refused one go too");
        Assert.That(answer.Raw, Does.Not.Contain("delete_files").And.Not.Contain("get_weather").And.Not.Contain("call_scripted"));
        MatrixAnswers.AssertEndedByFilter(api, answer);
    }

    [TestCaseSource(nameof(OrderedCells))]
    public async Task Post_RefusedCallBeforeText_NothingAfterItShown(ModelApi api, bool stream, RouteStyle route)
    {
        BackendKinds.AssumeRawWire(_backend, "Microsoft.Extensions.AI's OpenAI client gathers a streamed tool call and yields it after the text, so a call before text cannot reach the policies in that order.");
        // Responses: reasoning (index 0), the refused call (1), a message (2): what stays keeps contiguous indexes.
        var turn = new ScriptedTurn { Reasoning = ["Hmm."], Calls = [MatrixTurns.DisallowedCall.Call!], CallsFirst = true, Text = ["After ", "the call."] };

        var answer = await MatrixAnswers.SendAsync(_backend, Chain.ToolCalls, api, stream, route, turn);

        Assert.That(answer.Calls, Is.Empty);
        Assert.That(answer.Raw, Does.Not.Contain("delete_files").And.Not.Contain("After"));
        MatrixAnswers.AssertEndedByFilter(api, answer);
    }
}
