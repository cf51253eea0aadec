
namespace Luthien.Control.Tests.Policies;

public class SerialPolicyTests
{
    [Test]
    public async Task RunAsync_Policies_NestLikeMiddleware()
    {
        var log = new List<string>();

        await new SerialPolicy([new RecordingPolicy("a", log), new RecordingPolicy("b", log)]).RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[] { "a:request", "b:request", "b:response", "a:response" }));
    }

    [Test]
    public void RunAsync_PolicyThrows_StopsChain()
    {
        var log = new List<string>();
        var chain = new SerialPolicy([new RecordingPolicy("failing", log, throws: ControlPolicyException.PolicyViolation("no")), new RecordingPolicy("after", log)]);

        Assert.ThrowsAsync<ControlPolicyException>(async () => await chain.RunAsync(TestTransactions.ChatWithText("hi")));

        Assert.That(log, Is.EqualTo(new[] { "failing:request" }));
    }

    [Test]
    public async Task ApplyAsync_Nested_ContinuesWithWhatFollowsIt()
    {
        var log = new List<string>();
        var inner = new SerialPolicy([new RecordingPolicy("inner1", log), new RecordingPolicy("inner2", log)]);
        var outer = new SerialPolicy([new RecordingPolicy("before", log), inner, new RecordingPolicy("after", log)]);

        await outer.RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[]
        {
            "before:request", "inner1:request", "inner2:request", "after:request",
            "after:response", "inner2:response", "inner1:response", "before:response",
        }));
    }

    [Test]
    public async Task ApplyAsync_PolicyAnswersOnItsOwn_RestIsSkipped()
    {
        var log = new List<string>();
        var transaction = TestTransactions.ChatWithText("hi");

        await new SerialPolicy([new RecordingPolicy("outer", log), new RecordingPolicy("cache", log, answers: true), new RecordingPolicy("skipped", log)]).RunAsync(transaction);

        Assert.That(log, Is.EqualTo(new[] { "outer:request", "cache:request", "outer:response" }));
        Assert.That(transaction.Response.Payload?["answered_by"]?.GetValue<string>(), Is.EqualTo("cache"));
    }

    [Test]
    public async Task RunAsync_SameChainTwice_EachRunCompletes()
    {
        // The root's continuations are made once and reused: a second run must not see the first run's state.
        var log = new List<string>();
        var chain = new SerialPolicy([new RecordingPolicy("a", log), new RecordingPolicy("b", log)]);

        await chain.RunAsync(TestTransactions.ChatWithText("one"));
        await chain.RunAsync(TestTransactions.ChatWithText("two"));

        Assert.That(log, Has.Count.EqualTo(8));
    }

    [Test]
    public void RunAsync_Cancelled_StopsBeforeTheNextPolicy()
    {
        var log = new List<string>();
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.CatchAsync<OperationCanceledException>(async () => await new SerialPolicy([new RecordingPolicy("a", log)]).RunAsync(TestTransactions.ChatWithText("hi"), cts.Token));

        Assert.That(log, Is.Empty);
    }
}
