using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Luthien.Control.Tests.Hosting;

/// <summary>An editor's several writes make one look at the file, once they have stopped.</summary>
public sealed class PolicyFileWatcherTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("luthien-watch-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Touched_SeveralTimesWithinDebounce_OneCallOnceQuiet()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        using var watcher = new PolicyFileWatcher(Path.Combine(_folder, "policy.json"), () => calls++, time, new ListLogger<PolicyFileWatcherTests>(), polling: false, TimeSpan.FromMilliseconds(500));

        watcher.Touched();
        time.Advance(TimeSpan.FromMilliseconds(400));
        watcher.Touched();
        time.Advance(TimeSpan.FromMilliseconds(400));
        var whileBusy = calls;
        time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.That(watcher.IsPolling, Is.False);
        Assert.That(whileBusy, Is.Zero);
        Assert.That(calls, Is.EqualTo(1));
    }

    [Test]
    public void Touched_FolderNeverQuiet_LooksAtTheFileAnyway()
    {
        // The folder is shared with files written all the time (the audit log's SQLite file and its -wal beside the
        // policy file, as in the README's app; a log file): a changed policy file must still be read.
        var time = new FakeTimeProvider();
        var calls = 0;
        using var watcher = new PolicyFileWatcher(Path.Combine(_folder, "policy.json"), () => calls++, time, new ListLogger<PolicyFileWatcherTests>(), polling: false, TimeSpan.FromMilliseconds(500));

        for (var i = 0; i < 50; i++)
        {
            watcher.Touched();
            time.Advance(TimeSpan.FromMilliseconds(400));
        }

        Assert.That(calls, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void Constructor_FolderMissing_PollsAndWarns()
    {
        var time = new FakeTimeProvider();
        var logger = new ListLogger<PolicyFileWatcherTests>();
        var calls = 0;
        using var watcher = new PolicyFileWatcher(Path.Combine(_folder, "missing", "policy.json"), () => calls++, time, logger, polling: false, pollInterval: TimeSpan.FromSeconds(4));

        time.Advance(TimeSpan.FromSeconds(8));

        Assert.That(watcher.IsPolling, Is.True);
        Assert.That(calls, Is.EqualTo(2));
        Assert.That(logger.Entries, Has.Some.Matches<(LogLevel Level, string Message)>(e => e.Level == LogLevel.Warning && e.Message.Contains("polled", StringComparison.Ordinal)));
    }

    [Test]
    public void Dispose_PendingLook_NeverCalled()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        var watcher = new PolicyFileWatcher(Path.Combine(_folder, "policy.json"), () => calls++, time, new ListLogger<PolicyFileWatcherTests>(), polling: true);
        watcher.Touched();

        watcher.Dispose();
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.That(calls, Is.Zero);
    }

    [Test]
    public async Task FileWritten_TwoWatchersOfOneFolderOneDisposed_OtherStillCalled()
    {
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var disposedCalls = 0;
        var first = new PolicyFileWatcher(Path.Combine(_folder, "a.json"), () => Interlocked.Increment(ref disposedCalls), TimeProvider.System, new ListLogger<PolicyFileWatcherTests>(), polling: false, TimeSpan.FromMilliseconds(50));
        using var second = new PolicyFileWatcher(Path.Combine(_folder, "b.json"), () => called.TrySetResult(), TimeProvider.System, new ListLogger<PolicyFileWatcherTests>(), polling: false, TimeSpan.FromMilliseconds(50));
        first.Dispose();

        await File.WriteAllTextAsync(Path.Combine(_folder, "b.json"), "{}");
        await called.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(second.IsPolling, Is.False);
        Assert.That(disposedCalls, Is.Zero);
    }
}
