using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Tests.Transport;

public class BackendTimerTests
{
    [Test]
    public void Token_NotStarted_NeverFires()
    {
        var clock = new FakeTimeProvider();
        using var timer = new BackendTimer(clock, CancellationToken.None);

        clock.Advance(TimeSpan.FromHours(1));

        Assert.That(timer.Token.IsCancellationRequested, Is.False);
    }

    [Test]
    public void Token_StartedAndDeadlinePasses_FiresAsTimeout()
    {
        var clock = new FakeTimeProvider();
        using var timer = BackendTimer.Started(clock, TimeSpan.FromSeconds(5), CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.That(timer.Token.IsCancellationRequested, Is.True);
        Assert.That(timer.TimedOut, Is.True);
    }

    [Test]
    public void Token_StoppedBeforeDeadline_DoesNotFire()
    {
        var clock = new FakeTimeProvider();
        using var timer = BackendTimer.Started(clock, TimeSpan.FromSeconds(5), CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(4));
        timer.Stop();
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.That(timer.Token.IsCancellationRequested, Is.False);
    }

    [Test]
    public void Token_ClientGoesAway_FiresButIsNotATimeout()
    {
        using var client = new CancellationTokenSource();
        using var timer = BackendTimer.Started(new FakeTimeProvider(), TimeSpan.FromSeconds(5), client.Token);

        client.Cancel();

        Assert.That(timer.Token.IsCancellationRequested, Is.True);
        Assert.That(timer.TimedOut, Is.False);
    }

    [Test]
    public void Token_ClientGoneAfterTheDeadline_IsNotATimeout()
    {
        // The client's departure wins: nobody is left to tell about the backend.
        var clock = new FakeTimeProvider();
        using var client = new CancellationTokenSource();
        using var timer = BackendTimer.Started(clock, TimeSpan.FromSeconds(5), client.Token);

        clock.Advance(TimeSpan.FromSeconds(5));
        client.Cancel();

        Assert.That(timer.TimedOut, Is.False);
    }
}
