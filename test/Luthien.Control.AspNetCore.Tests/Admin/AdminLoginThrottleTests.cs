using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>Failed logins slow an address down; the right password does not get past a lockout.</summary>
public sealed class AdminLoginThrottleTests
{
    private static readonly IPAddress Client = IPAddress.Parse("203.0.113.7");

    [Test]
    public void Fail_FirstFailures_NoLockout()
    {
        var throttle = new AdminLoginThrottle(new FakeTimeProvider());

        for (var i = 0; i < AdminLoginThrottle.FreeFailures; i++)
        {
            Assert.That(throttle.Fail(Client), Is.EqualTo(TimeSpan.Zero));
        }

        Assert.That(throttle.LockedFor(Client), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Fail_PastFreeFailures_LockoutDoublesUpToTheMost()
    {
        var time = new FakeTimeProvider();
        var throttle = new AdminLoginThrottle(time);
        for (var i = 0; i < AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(Client);
        }

        var lockouts = new List<double>();
        for (var i = 0; i < 14; i++)
        {
            var lockout = throttle.Fail(Client);
            lockouts.Add(lockout.TotalSeconds);
            time.Advance(lockout);
        }

        Assert.That(lockouts.Take(5), Is.EqualTo(new[] { 1.0, 2, 4, 8, 16 }));
        Assert.That(lockouts[^1], Is.EqualTo(AdminLoginThrottle.MaxLockout.TotalSeconds));
    }

    [Test]
    public void LockedFor_OtherAddress_NotLocked()
    {
        var throttle = new AdminLoginThrottle(new FakeTimeProvider());
        for (var i = 0; i <= AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(Client);
        }

        Assert.That(throttle.LockedFor(Client), Is.GreaterThan(TimeSpan.Zero));
        Assert.That(throttle.LockedFor(IPAddress.Parse("203.0.113.8")), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void LockedFor_SameIpv6Slash64_SharesTheCount()
    {
        var throttle = new AdminLoginThrottle(new FakeTimeProvider());
        for (var i = 0; i <= AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"));
        }

        Assert.That(throttle.LockedFor(IPAddress.Parse("2001:db8:1:2:ffff::1")), Is.GreaterThan(TimeSpan.Zero));
        Assert.That(throttle.LockedFor(IPAddress.Parse("2001:db8:1:3::1")), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Succeed_AfterFailures_ForgetsThem()
    {
        var throttle = new AdminLoginThrottle(new FakeTimeProvider());
        for (var i = 0; i < AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(Client);
        }

        throttle.Succeed(Client);

        Assert.That(throttle.Fail(Client), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Fail_AnHourAfterTheLast_CountsFromOne()
    {
        var time = new FakeTimeProvider();
        var throttle = new AdminLoginThrottle(time);
        for (var i = 0; i < AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(Client);
        }

        time.Advance(AdminLoginThrottle.Memory + TimeSpan.FromSeconds(1));

        Assert.That(throttle.Fail(Client), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Fail_TableFull_NewAddressesShareOneCount()
    {
        var throttle = new AdminLoginThrottle(new FakeTimeProvider());
        for (var i = 0; i < AdminLoginThrottle.MaxAddresses; i++)
        {
            throttle.Fail(new IPAddress(BitConverter.GetBytes(0x0A000000 + i)));
        }

        for (var i = 0; i <= AdminLoginThrottle.FreeFailures; i++)
        {
            throttle.Fail(IPAddress.Parse($"198.51.100.{i + 1}"));
        }

        Assert.That(throttle.LockedFor(IPAddress.Parse("198.51.100.200")), Is.GreaterThan(TimeSpan.Zero));
    }

    [Test]
    public async Task Login_AfterRepeatedFailures_RightPasswordRefusedUntilLockoutEnds()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient();
        for (var i = 0; i <= AdminLoginThrottle.FreeFailures; i++)
        {
            using var failed = await client.LoginAsync(password: "guess-" + i);
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        using var locked = await client.LoginAsync();
        Assert.That(locked.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(locked.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(client.SessionCookie, Is.Null);

        app.Time.Advance(TimeSpan.FromSeconds(1));
        using var after = await client.LoginAsync();
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
    }

    [Test]
    public async Task Login_ManyWrongPasswordsAtOnce_OnlyTheFreeFailuresAndOneMoreChecked()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateBareClient();
        var bodiesSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int Attempts = 20;

        // Every request is in the server before any body arrives: all would pass a lockout check made before the form is read.
        var logins = Enumerable.Range(0, Attempts)
            .Select(i => client.PostAsync("/admin/login", new HeldBackForm(bodiesSent.Task, $"username=admin&password=guess-{i}")))
            .ToList();
        await Task.Delay(500);
        bodiesSent.SetResult();
        var statuses = (await Task.WhenAll(logins)).Select(r => r.StatusCode).ToList();

        Assert.That(statuses.Count(s => s == HttpStatusCode.Unauthorized), Is.EqualTo(AdminLoginThrottle.FreeFailures + 1));
        Assert.That(statuses.Count(s => s == HttpStatusCode.TooManyRequests), Is.EqualTo(Attempts - AdminLoginThrottle.FreeFailures - 1));
    }

    /// <summary>A login form whose bytes are sent only once its release completes.</summary>
    private sealed class HeldBackForm : HttpContent
    {
        private readonly Task _release;
        private readonly byte[] _bytes;

        public HeldBackForm(Task release, string form)
        {
            _release = release;
            _bytes = System.Text.Encoding.ASCII.GetBytes(form);
            Headers.ContentType = new("application/x-www-form-urlencoded");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await _release;
            await stream.WriteAsync(_bytes);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _bytes.Length;
            return true;
        }
    }
}
