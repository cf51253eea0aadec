using Luthien.Control.Policies;
using NSubstitute;
using NSubstitute.ExceptionExtensions;

namespace Luthien.Control.Tests.Policies;

public class SerialPolicyTests
{
    [Test]
    public async Task ApplyAsync_Policies_RunInOrder()
    {
        var order = new List<string>();
        var first = Substitute.For<ControlPolicy>();
        first.ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>()).Returns(ValueTask.CompletedTask).AndDoes(_ => order.Add("first"));
        var second = Substitute.For<ControlPolicy>();
        second.ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>()).Returns(ValueTask.CompletedTask).AndDoes(_ => order.Add("second"));

        await new SerialPolicy([first, second]).ApplyAsync(TestTransactions.ChatWithText("hi"), default);

        Assert.That(order, Is.EqualTo(new[] { "first", "second" }));
    }

    [Test]
    public void ApplyAsync_PolicyThrows_StopsChain()
    {
        var failing = Substitute.For<ControlPolicy>();
        failing.ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>()).Throws(ControlPolicyException.PolicyViolation("no"));
        var after = Substitute.For<ControlPolicy>();

        Assert.ThrowsAsync<ControlPolicyException>(async () => await new SerialPolicy([failing, after]).ApplyAsync(TestTransactions.ChatWithText("hi"), default));

        _ = after.DidNotReceive().ApplyAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>());
    }
}
