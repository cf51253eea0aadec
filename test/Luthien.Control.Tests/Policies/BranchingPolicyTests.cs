using NSubstitute;

namespace Luthien.Control.Tests.Policies;

public class BranchingPolicyTests
{
    private static Condition Always(bool value)
    {
        var condition = Substitute.For<Condition>();
        condition.Evaluate(Arg.Any<Transaction>()).Returns(value);
        return condition;
    }

    [Test]
    public async Task ApplyAsync_SecondConditionHolds_AppliesOnlyItsPolicy()
    {
        var log = new List<string>();
        var policy = new BranchingPolicy(
            [new(Always(false), new RecordingPolicy("a", log)), new(Always(true), new RecordingPolicy("b", log))],
            new RecordingPolicy("fallback", log));

        await policy.RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[] { "b:request", "b:response" }));
    }

    [Test]
    public async Task ApplyAsync_NoConditionHolds_AppliesDefault()
    {
        var log = new List<string>();
        var policy = new BranchingPolicy([new(Always(false), new RecordingPolicy("a", log))], new RecordingPolicy("fallback", log));

        await policy.RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[] { "fallback:request", "fallback:response" }));
    }

    [Test]
    public async Task ApplyAsync_NoConditionHoldsAndNoDefault_GoesOn()
    {
        var log = new List<string>();
        var chain = new SerialPolicy([new BranchingPolicy([new(Always(false), new RecordingPolicy("a", log))]), new RecordingPolicy("after", log)]);

        await chain.RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[] { "after:request", "after:response" }));
    }

    [Test]
    public async Task ApplyAsync_BranchTaken_ContinuesWithWhatFollowsIt()
    {
        var log = new List<string>();
        var chain = new SerialPolicy([new BranchingPolicy([new(Always(true), new RecordingPolicy("branch", log))]), new RecordingPolicy("after", log)]);

        await chain.RunAsync(TestTransactions.ChatWithText("hi"));

        Assert.That(log, Is.EqualTo(new[] { "branch:request", "after:request", "after:response", "branch:response" }));
    }
}
