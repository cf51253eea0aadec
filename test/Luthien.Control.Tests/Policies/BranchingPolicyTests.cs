using Luthien.Control.Policies;
using Luthien.Control.Policies.Conditions;
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
        var a = Substitute.For<ControlPolicy>();
        var b = Substitute.For<ControlPolicy>();
        var fallback = Substitute.For<ControlPolicy>();
        var policy = new BranchingPolicy([new(Always(false), a), new(Always(true), b)], fallback);

        await policy.ApplyAsync(TestTransactions.ChatWithText("hi"), default);

        await a.DidNotReceive().ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>());
        await b.Received(1).ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>());
        await fallback.DidNotReceive().ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public async Task ApplyAsync_NoConditionHolds_AppliesDefault()
    {
        var a = Substitute.For<ControlPolicy>();
        var fallback = Substitute.For<ControlPolicy>();
        var policy = new BranchingPolicy([new(Always(false), a)], fallback);

        await policy.ApplyAsync(TestTransactions.ChatWithText("hi"), default);

        await fallback.Received(1).ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public void ApplyAsync_NoConditionHoldsAndNoDefault_DoesNothing()
    {
        var policy = new BranchingPolicy([new(Always(false), Substitute.For<ControlPolicy>())]);

        Assert.DoesNotThrowAsync(async () => await policy.ApplyAsync(TestTransactions.ChatWithText("hi"), default));
    }
}
