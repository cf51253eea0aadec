using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NSubstitute;
using NSubstitute.ExceptionExtensions;

namespace Luthien.Control.Tests.Audit;

public sealed class TransactionLogWriterTests
{
    private static readonly ControlPolicy NoRoot = new NoopPolicy();

    private static TransactionLogWriter Writer(ITransactionLogStore? store, int maxQueued = 100, int batchSize = 10, long maxQueuedBytes = 256L * 1024 * 1024, int batchDelayMs = 50) =>
        new(store, new AuditMaskSource(_ => new AuditMask([]), () => NoRoot),
            Options.Create(new LuthienOptions
            {
                TransactionLog = new TransactionLogOptions { MaxQueued = maxQueued, BatchSize = batchSize, MaxQueuedBytes = maxQueuedBytes, BatchDelayMilliseconds = batchDelayMs },
            }),
            TimeProvider.System, NullLogger<TransactionLogWriter>.Instance);

    private static AuditRecord Record(string id) => new()
    {
        TransactionId = id, StartedAt = DateTime.UtcNow, EndedAt = DateTime.UtcNow, Method = "POST", Path = "chat/completions", Status = 200, DurationMs = 1,
    };

    /// <summary>The rows the store took; a batch <paramref name="refuse"/> says no to throws instead.</summary>
    private static List<TransactionLogRow> Captured(ITransactionLogStore store, Func<IReadOnlyList<TransactionLogRow>, bool>? refuse = null)
    {
        var rows = new List<TransactionLogRow>();
        store.WriteAsync(Arg.Any<IReadOnlyList<TransactionLogRow>>(), Arg.Any<CancellationToken>()).Returns(call =>
        {
            var batch = call.Arg<IReadOnlyList<TransactionLogRow>>();
            if (refuse?.Invoke(batch) == true)
            {
                throw new InvalidOperationException("refused");
            }

            lock (rows)
            {
                rows.AddRange(batch);
            }

            return Task.CompletedTask;
        });
        return rows;
    }

    /// <summary>A store whose writes wait until the returned gate opens.</summary>
    private static TaskCompletionSource Stuck(ITransactionLogStore store)
    {
        var gate = new TaskCompletionSource();
        store.WriteAsync(Arg.Any<IReadOnlyList<TransactionLogRow>>(), Arg.Any<CancellationToken>()).Returns(_ => gate.Task);
        return gate;
    }

    [Test]
    public void IsOn_NoStore_False()
    {
        Assert.That(Writer(null).IsOn, Is.False);
    }

    [Test]
    public async Task DrainAsync_QueuedRecords_AllWrittenThreeRowsEach()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var rows = Captured(store);
        var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < 25; i++)
        {
            await writer.EnqueueAsync(Record($"t{i}"));
        }

        await writer.DrainAsync(CancellationToken.None);

        Assert.That(rows, Has.Count.EqualTo(75));
        Assert.That(rows.Select(r => r.TransactionId).Distinct().Count(), Is.EqualTo(25));
    }

    [Test]
    public async Task RunAsync_RecordsArrivingWithinTheBatchDelay_OneDatabaseTransaction()
    {
        // Under load the writer must not pay a database transaction per request: records arriving while the batch
        // fills go in together.
        var store = Substitute.For<ITransactionLogStore>();
        var rows = Captured(store);
        var writer = Writer(store, batchDelayMs: 400);
        await writer.StartAsync(CancellationToken.None);

        await writer.EnqueueAsync(Record("first"));
        await Task.Delay(50);
        await writer.EnqueueAsync(Record("second"));
        await writer.EnqueueAsync(Record("third"));
        await writer.DrainAsync(CancellationToken.None);

        Assert.That(rows, Has.Count.EqualTo(9));
        await store.Received(1).WriteAsync(Arg.Any<IReadOnlyList<TransactionLogRow>>(), Arg.Any<CancellationToken>());
    }

    [Test]
    public async Task WriteAsync_DatabaseAwayThenBack_NothingLost()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var calls = 0;

        // Away for the first three attempts.
        var rows = Captured(store, _ => Interlocked.Increment(ref calls) <= 3);
        var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);

        await writer.EnqueueAsync(Record("a"));
        await writer.EnqueueAsync(Record("b"));
        await writer.DrainAsync(CancellationToken.None);

        Assert.That(rows.Select(r => r.TransactionId).Distinct(), Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(calls, Is.GreaterThan(3));
    }

    [Test]
    public async Task WriteAsync_RowsTheDatabaseRefuses_ReplacedOthersWritten()
    {
        var store = Substitute.For<ITransactionLogStore>();
        store.PingAsync(Arg.Any<CancellationToken>()).Returns(true);
        var rows = Captured(store, batch => batch.Any(r => r.TransactionId == "poison" && r.Datatype == "request"));
        var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);

        await writer.EnqueueAsync(Record("before"));
        await writer.EnqueueAsync(Record("poison"));
        await writer.EnqueueAsync(Record("after"));
        await writer.DrainAsync(CancellationToken.None);

        Assert.That(rows.Count(r => r.TransactionId == "before"), Is.EqualTo(3));
        Assert.That(rows.Count(r => r.TransactionId == "after"), Is.EqualTo(3));
        Assert.That(rows.Single(r => r.TransactionId == "poison").Data, Does.Contain("unstorable"));
    }

    [Test]
    public async Task EnqueueAsync_QueueFull_WaitsForRoom()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var gate = Stuck(store);
        var writer = Writer(store, maxQueued: 1, batchSize: 1);
        await writer.StartAsync(CancellationToken.None);

        await writer.EnqueueAsync(Record("first"));   // taken by the loop, stuck in the store
        await WaitUntil(() => writer.Pending == 1 && store.ReceivedCalls().Any());
        await writer.EnqueueAsync(Record("second"));  // fills the queue
        var third = writer.EnqueueAsync(Record("third")).AsTask();
        await Task.Delay(100);

        Assert.That(third.IsCompleted, Is.False);
        gate.SetResult();
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        await writer.DrainAsync(CancellationToken.None);
    }

    [Test]
    public async Task EnqueueAsync_QueuedBytesOverBound_WaitsForRoom()
    {
        await SecondWaitsForRoomAsync(id => new()
        {
            TransactionId = id, StartedAt = DateTime.UtcNow, EndedAt = DateTime.UtcNow, Method = "POST", Path = "p", Status = 200, DurationMs = 1,
            RequestBody = new byte[700 * 1024],
        });
    }

    [Test]
    public async Task EnqueueAsync_HugeModelNameOverBound_WaitsForRoom()
    {
        // A body over MaxBodyBytes is not kept, but the model it named is: its size must count against the bound too.
        var model = new string('m', 700 * 1024);
        await SecondWaitsForRoomAsync(id => new()
        {
            TransactionId = id, StartedAt = DateTime.UtcNow, EndedAt = DateTime.UtcNow, Method = "POST", Path = "p", Status = 200, DurationMs = 1,
            Model = model, RequestTruncated = true,
        });
    }

    /// <summary>
    /// Two records of ~700 KB against a 1 MiB bound: the first, alone in the queue, always fits (then stuck in the
    /// store); the second waits until the first is written.
    /// </summary>
    private static async Task SecondWaitsForRoomAsync(Func<string, AuditRecord> big)
    {
        var store = Substitute.For<ITransactionLogStore>();
        var gate = Stuck(store);
        var writer = Writer(store, maxQueuedBytes: 1024 * 1024);
        await writer.StartAsync(CancellationToken.None);

        await writer.EnqueueAsync(big("first"));
        var second = writer.EnqueueAsync(big("second")).AsTask();
        await Task.Delay(100);

        Assert.That(second.IsCompleted, Is.False);
        gate.SetResult();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        await writer.DrainAsync(CancellationToken.None);
    }

    [Test]
    public async Task DrainAsync_DatabaseAwayAndTimeUp_Returns()
    {
        var store = Substitute.For<ITransactionLogStore>();
        store.WriteAsync(Arg.Any<IReadOnlyList<TransactionLogRow>>(), Arg.Any<CancellationToken>()).ThrowsAsync(new InvalidOperationException("away"));
        var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);
        await writer.EnqueueAsync(Record("a"));

        using var timeUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var drain = writer.DrainAsync(timeUp.Token);

        Assert.That(await Task.WhenAny(drain, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(drain));
    }

    [Test]
    public async Task StartAsync_DatabaseAway_StartsAnyway()
    {
        var store = Substitute.For<ITransactionLogStore>();
        store.InitializeAsync(Arg.Any<CancellationToken>()).ThrowsAsync(new InvalidOperationException("away"));
        var writer = Writer(store);

        await writer.StartAsync(CancellationToken.None);

        Assert.That(writer.IsOn, Is.True);
        await writer.DrainAsync(CancellationToken.None);
    }

    [Test]
    public async Task EnqueueAsync_NoHostFirstRecord_WrittenByDispose()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var rows = Captured(store);
        var writer = Writer(store);

        await writer.EnqueueAsync(Record("a"));
        await writer.DisposeAsync();

        Assert.That(rows.Count(r => r.TransactionId == "a"), Is.EqualTo(3));
    }

    [Test]
    public async Task EnqueueAsync_AfterDisposeNeverStarted_StartsNoLoop()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var writer = Writer(store);
        await writer.DisposeAsync();

        await writer.EnqueueAsync(Record("late"));
        await Task.Delay(100);

        await store.DidNotReceive().InitializeAsync(Arg.Any<CancellationToken>());
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }

    [Test]
    public async Task DrainAsync_RecordThatCannotBeBuilt_OutcomeRowSaysSo()
    {
        var store = Substitute.For<ITransactionLogStore>();
        var rows = Captured(store);
        var writer = Writer(store);
        await writer.StartAsync(CancellationToken.None);

        // A usage object the parser took but cannot read (a repeated name): building its rows throws.
        var broken = new AuditRecord
        {
            TransactionId = "broken", StartedAt = DateTime.UtcNow, EndedAt = DateTime.UtcNow, Method = "POST", Path = "chat/completions", Status = 200, DurationMs = 1,
            Usage = System.Text.Json.Nodes.JsonNode.Parse("""{"total_tokens":1,"total_tokens":2}""")!.AsObject(),
        };
        await writer.EnqueueAsync(broken);
        await writer.EnqueueAsync(Record("fine"));
        await writer.DrainAsync(CancellationToken.None);

        var outcome = rows.SingleOrDefault(r => r.TransactionId == "broken" && r.Datatype == TransactionLogRow.Outcome);
        Assert.That(outcome, Is.Not.Null, "the transaction left no trace");
        Assert.That(outcome!.Data, Does.Contain("\"status\":200").And.Contain("\"unbuildable\":true"));
        Assert.That(rows.Count(r => r.TransactionId == "fine"), Is.EqualTo(3));
    }
}
