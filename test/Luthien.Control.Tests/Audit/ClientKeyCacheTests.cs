using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using NSubstitute.ExceptionExtensions;

namespace Luthien.Control.Tests.Audit;

public sealed class ClientKeyCacheTests
{
    // NUnit runs every test on one instance: each gets a fresh clock and store.
    private FakeTimeProvider _time = null!;
    private IControlStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        _time = new FakeTimeProvider();
        _store = Substitute.For<IControlStore>();
    }

    private ClientKeyCache Cache()
    {
        var options = Options.Create(new LuthienOptions
        {
            TransactionLog = new TransactionLogOptions { Provider = TransactionLogProvider.Sqlite, ConnectionString = "x", KeyCacheSeconds = 2 },
        });
        var stores = new ControlStores(options, [new ControlStoreRegistration(TransactionLogProvider.Sqlite, "test", _ => _store)]);
        return new ClientKeyCache(stores, options, _time);
    }

    private void Knows(string key, string name) =>
        _store.FindActiveAsync(ClientKeyHash.Of(key), Arg.Any<CancellationToken>())
            .Returns(new StoredClientKey(1, name, DateTime.UtcNow, null));

    [Test]
    public async Task FindAsync_KnownKey_ReturnsItsName()
    {
        Knows("lck-a", "team-a");

        var key = await Cache().FindAsync("lck-a", CancellationToken.None);

        Assert.That(key?.Name, Is.EqualTo("team-a"));
    }

    [Test]
    public async Task FindAsync_WithinCacheTime_AsksStoreOnce()
    {
        Knows("lck-a", "team-a");
        var cache = Cache();

        await cache.FindAsync("lck-a", CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(1));
        await cache.FindAsync("lck-a", CancellationToken.None);

        await _store.Received(1).FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public async Task FindAsync_RevokedElsewhere_RefusedAfterCacheTime()
    {
        Knows("lck-a", "team-a");
        var cache = Cache();
        await cache.FindAsync("lck-a", CancellationToken.None);
        _store.FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>()).Returns((StoredClientKey?)null);

        _time.Advance(TimeSpan.FromSeconds(2.1));
        var key = await cache.FindAsync("lck-a", CancellationToken.None);

        Assert.That(key, Is.Null);
    }

    [Test]
    public async Task FindAsync_AfterClear_AsksStoreAgain()
    {
        Knows("lck-a", "team-a");
        var cache = Cache();
        await cache.FindAsync("lck-a", CancellationToken.None);

        cache.Clear();
        await cache.FindAsync("lck-a", CancellationToken.None);

        await _store.Received(2).FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public void FindAsync_StoreFails_FailsClosed()
    {
        _store.FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>()).ThrowsAsync(new InvalidOperationException("away"));

        Assert.ThrowsAsync<ControlFailureException>(async () => await Cache().FindAsync("lck-a", CancellationToken.None));
    }

    [Test]
    public async Task FindAsync_StoreNeverAnswers_RefusedAfterLookupTimeout()
    {
        _store.FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>())
            .Returns(async call =>
            {
                await Task.Delay(Timeout.Infinite, call.Arg<CancellationToken>());
                return (StoredClientKey?)null;
            });
        var cache = new ClientKeyCache(
            new ControlStores(Options.Create(new LuthienOptions { TransactionLog = new TransactionLogOptions { Provider = TransactionLogProvider.Sqlite, ConnectionString = "x" } }),
                [new ControlStoreRegistration(TransactionLogProvider.Sqlite, "test", _ => _store)]),
            Options.Create(new LuthienOptions()), TimeProvider.System);

        var find = cache.FindAsync("lck-a", CancellationToken.None).AsTask();

        Assert.That(await Task.WhenAny(find, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(find), "the request is not held for the driver's timeout");
        Assert.ThrowsAsync<ControlFailureException>(() => find);
    }

    [Test]
    public async Task FindAsync_StoreAsked_OnlyTheHash()
    {
        var cache = Cache();

        await cache.FindAsync("lck-secret-value", CancellationToken.None);

        await _store.Received(1).FindActiveAsync(ClientKeyHash.Of("lck-secret-value"), Arg.Any<CancellationToken>());
        Assert.That(ClientKeyHash.Of("lck-secret-value"), Has.Length.EqualTo(64).And.Not.Contain("secret"));
    }

    [Test]
    public async Task FindAsync_LookupReadBeforeClear_NotTrustedAfterIt()
    {
        // A lookup that read the key as active just before it was revoked here must not be kept past the revocation.
        var read = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(ClientKeyHash.Of("lck-a"), Arg.Any<CancellationToken>()).Returns(read.Task, Task.FromResult<StoredClientKey?>(null));
        var cache = Cache();

        var during = cache.FindAsync("lck-a", CancellationToken.None).AsTask();
        cache.Clear();
        read.SetResult(new StoredClientKey(1, "team-a", DateTime.UtcNow, null));
        await during;
        var after = await cache.FindAsync("lck-a", CancellationToken.None);

        Assert.That(after, Is.Null);
    }

    [Test]
    public async Task FindAsync_SameUncachedKeyAtOnce_AsksStoreOnce()
    {
        // A busy instance's requests for one key, when its cache entry has run out, wait for one answer.
        var read = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(ClientKeyHash.Of("lck-a"), Arg.Any<CancellationToken>()).Returns(read.Task);
        var cache = Cache();

        var waiting = Enumerable.Range(0, 20).Select(_ => cache.FindAsync("lck-a", CancellationToken.None).AsTask()).ToList();
        read.SetResult(new StoredClientKey(1, "team-a", DateTime.UtcNow, null));
        var keys = await Task.WhenAll(waiting);

        Assert.That(keys.Select(k => k?.Name), Is.All.EqualTo("team-a"));
        await _store.Received(1).FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public async Task FindAsync_OneWaiterGone_OthersStillAnswered()
    {
        var read = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(ClientKeyHash.Of("lck-a"), Arg.Any<CancellationToken>()).Returns(read.Task);
        var cache = Cache();
        using var gone = new CancellationTokenSource();

        var leaving = cache.FindAsync("lck-a", gone.Token).AsTask();
        var staying = cache.FindAsync("lck-a", CancellationToken.None).AsTask();
        await gone.CancelAsync();
        read.SetResult(new StoredClientKey(1, "team-a", DateTime.UtcNow, null));

        Assert.ThrowsAsync<TaskCanceledException>(() => leaving);
        Assert.That((await staying)?.Name, Is.EqualTo("team-a"));
    }

    [Test]
    public async Task FindAsync_AfterClearWhileLookupUnderWay_AsksStoreAgain()
    {
        // A request after a revocation here must not take the answer of a lookup that began before it.
        var before = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(ClientKeyHash.Of("lck-a"), Arg.Any<CancellationToken>()).Returns(before.Task, Task.FromResult<StoredClientKey?>(null));
        var cache = Cache();

        var early = cache.FindAsync("lck-a", CancellationToken.None).AsTask();
        cache.Clear();
        var late = cache.FindAsync("lck-a", CancellationToken.None).AsTask();
        before.SetResult(new StoredClientKey(1, "team-a", DateTime.UtcNow, null));

        Assert.That((await early)?.Name, Is.EqualTo("team-a"));
        Assert.That(await late, Is.Null);
        await _store.Received(2).FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public void FindAsync_StartedAfterClear_NeverSeesAnswerReadBeforeIt()
    {
        // The answer of a lookup that read the key before a revocation here is, for an instant, written to the cache
        // and then removed: a request starting after the revocation must not take it in that instant.
        var hash = ClientKeyHash.Of("lck-a");
        for (var round = 0; round < 300; round++)
        {
            var before = new TaskCompletionSource<StoredClientKey?>();
            var calls = 0;
            _store.FindActiveAsync(hash, Arg.Any<CancellationToken>())
                .Returns(_ => Interlocked.Increment(ref calls) == 1 ? before.Task : Task.FromResult<StoredClientKey?>(null));
            var cache = Cache();
            var early = cache.FindAsync("lck-a", CancellationToken.None).AsTask();
            cache.Clear();

            StoredClientKey? seen = null;
            var reading = new ManualResetEventSlim();
            var stop = 0;
            var reader = new Thread(() =>
            {
                while (Volatile.Read(ref stop) == 0)
                {
                    var find = cache.FindAsync("lck-a", CancellationToken.None);
                    var key = find.IsCompletedSuccessfully ? find.Result : find.AsTask().GetAwaiter().GetResult();
                    seen ??= key;
                    reading.Set();
                }
            });
            reader.Start();
            reading.Wait();
            before.SetResult(new StoredClientKey(1, "team-a", DateTime.UtcNow, null));
            early.GetAwaiter().GetResult();
            Volatile.Write(ref stop, 1);
            reader.Join();

            Assert.That(seen, Is.Null, $"round {round}: a request after the revocation was let in");
        }
    }

    [Test]
    public void FindAsync_EveryWaiterGoneThenStoreFails_FailureObserved()
    {
        // Clients that leave before the store fails must not leave a failed task no one looked at: the runtime reports
        // it (UnobservedTaskException), and a host that makes those fatal would stop.
        var unobserved = 0;
        EventHandler<UnobservedTaskExceptionEventArgs> count = (_, e) =>
        {
            if (e.Exception.InnerExceptions.Any(x => x is ControlFailureException))
            {
                Interlocked.Increment(ref unobserved);
            }
        };
        TaskScheduler.UnobservedTaskException += count;
        try
        {
            LeaveThenFail();
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= count;
        }

        Assert.That(unobserved, Is.Zero);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void LeaveThenFail()
    {
        var read = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>()).Returns(read.Task);
        var cache = Cache();
        using var gone = new CancellationTokenSource();
        var leaving = cache.FindAsync("lck-a", gone.Token).AsTask();
        gone.Cancel();
        Assert.ThrowsAsync<TaskCanceledException>(() => leaving);
        read.SetException(new InvalidOperationException("away"));
        _store.ClearReceivedCalls();
    }

    [Test]
    public async Task FindAsync_StoreIgnoringItsToken_RefusedAfterLookupTimeout()
    {
        var never = new TaskCompletionSource<StoredClientKey?>();
        _store.FindActiveAsync(Arg.Any<string>(), Arg.Any<CancellationToken>()).Returns(never.Task);
        var cache = new ClientKeyCache(
            new ControlStores(Options.Create(new LuthienOptions { TransactionLog = new TransactionLogOptions { Provider = TransactionLogProvider.Sqlite, ConnectionString = "x" } }),
                [new ControlStoreRegistration(TransactionLogProvider.Sqlite, "test", _ => _store)]),
            Options.Create(new LuthienOptions()), TimeProvider.System);

        var find = cache.FindAsync("lck-a", CancellationToken.None).AsTask();

        Assert.That(await Task.WhenAny(find, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(find), "not held for ever by a store that does not answer");
        Assert.ThrowsAsync<ControlFailureException>(() => find);
    }
}
