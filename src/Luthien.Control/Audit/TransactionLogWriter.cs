using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;


/// <summary>
/// Writes the audit log off the request path. A finished transaction's record goes into a bounded queue (a request
/// waits only when the queue is full, never for the database); one loop takes what is queued, turns it into rows and
/// writes them in batches, one database transaction each. When the database is away the batch is retried — with a
/// growing pause, up to 5 s — until it is back: nothing is dropped while the process lives. At shutdown, after the
/// server has finished its requests, what is queued is written within the host's shutdown timeout.
/// </summary>
internal sealed partial class TransactionLogWriter : IHostedLifecycleService, IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly ITransactionLogStore? _store;
    private readonly Channel<AuditRecord> _queue;
    private readonly AuditMaskSource _masks;
    private readonly int _batchSize;
    private readonly TimeSpan _batchDelay;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _abandon = new();
    private int _started;
    private readonly Histogram<double>? _writeDuration;
    private readonly Counter<long>? _writeFailures;
    private readonly long _maxQueuedBytes;
    private long _queuedBytes;
    private TaskCompletionSource _roomFreed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastFullWarning;
    // Set by a host's start or the first record, read by a drain on another thread.
    private volatile Task? _loop;
    private int _inFlight;
    private volatile bool _draining;

    /// <summary>Creates the writer for the configured store (none: the audit log is off and nothing is queued).</summary>
    public TransactionLogWriter(
        ITransactionLogStore? store,
        AuditMaskSource mask,
        IOptions<LuthienOptions> options,
        TimeProvider time,
        ILogger<TransactionLogWriter> logger,
        IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(options);
        var log = options.Value.TransactionLog;
        _store = store;
        _batchSize = log.BatchSize;
        _batchDelay = TimeSpan.FromMilliseconds(log.BatchDelayMilliseconds);
        _maxQueuedBytes = log.MaxQueuedBytes;
        _masks = mask;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<AuditRecord>(new BoundedChannelOptions(log.MaxQueued)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        if (meters is not null && _store is not null)
        {
            var meter = meters.Create("Luthien.Control");
            meter.CreateObservableGauge("luthien.transaction_log.queued", () => _queue.Reader.Count + Volatile.Read(ref _inFlight),
                "{transaction}", "Transactions whose audit records are waiting to be written.");
            _writeDuration = meter.CreateHistogram<double>("luthien.transaction_log.write.duration", "s", "Time to write one batch of audit rows.");
            _writeFailures = meter.CreateCounter<long>("luthien.transaction_log.write.failures", "{batch}", "Batches the database refused or did not answer (retried).");
        }
    }

    /// <summary>Whether the audit log is on.</summary>
    public bool IsOn => _store is not null;

    /// <summary>How many transactions wait to be written (queued or being written).</summary>
    public int Pending => _queue.Reader.Count + Volatile.Read(ref _inFlight);

    /// <summary>
    /// Queues a finished transaction's record. Returns at once unless the queue is full; then it waits for room — the
    /// request ends later rather than its record being lost.
    /// </summary>
    /// <param name="record">The record; the writer owns it from now on.</param>
    /// <param name="cancellationToken">Gives up waiting for room (the record is then lost, and that is logged).</param>
    public ValueTask EnqueueAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (Volatile.Read(ref _started) == 0)
        {
            StartWithoutHost();
        }

        var size = record.Size;

        // A record always fits when nothing else waits, however large: the byte bound then only keeps others back.
        var queued = Interlocked.Add(ref _queuedBytes, size);
        if (queued - size > 0 && queued > _maxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -size);
            return WaitForRoomAsync(record, size, cancellationToken);
        }

        if (_queue.Writer.TryWrite(record))
        {
            return ValueTask.CompletedTask;
        }

        Interlocked.Add(ref _queuedBytes, -size);
        return WaitForRoomAsync(record, size, cancellationToken);
    }

    private async ValueTask WaitForRoomAsync(AuditRecord record, long size, CancellationToken cancellationToken)
    {
        try
        {
            WarnFull(record.TransactionId);
            while (true)
            {
                var freed = Volatile.Read(ref _roomFreed).Task;
                var queued = Interlocked.Add(ref _queuedBytes, size);
                if (queued - size <= 0 || queued <= _maxQueuedBytes)
                {
                    break;
                }

                Interlocked.Add(ref _queuedBytes, -size);
                await freed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await _queue.Writer.WriteAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Interlocked.Add(ref _queuedBytes, -size);
                throw;
            }
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            record.Dispose();
            LogRecordLost(_logger, record.TransactionId);
        }
    }

    /// <summary>Warns that the queue is full, at most once a second (every waiting request would otherwise say so).</summary>
    private void WarnFull(string transactionId)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFullWarning);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastFullWarning, now, last) == last)
        {
            LogQueueFull(_logger, transactionId);
        }
    }

    /// <summary>Gives back the room of records taken from the queue, and wakes requests waiting for it.</summary>
    private void Freed(long bytes)
    {
        Interlocked.Add(ref _queuedBytes, -bytes);
        var waiting = Interlocked.Exchange(ref _roomFreed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        waiting.TrySetResult();
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_store is null || Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <summary>
    /// Starts the writer on the first record when no host started it (an app that builds its services without a generic
    /// host and calls a chat client): records are written all the same, and a dispose of the services writes the rest.
    /// </summary>
    private void StartWithoutHost()
    {
        if (_store is null || Interlocked.Exchange(ref _started, 1) == 1)
        {
            return;
        }

        _loop = Task.Run(async () =>
        {
            await InitializeAsync(CancellationToken.None).ConfigureAwait(false);
            await RunAsync().ConfigureAwait(false);
        }, CancellationToken.None);
    }

    /// <summary>
    /// The schema, so that a wrong connection string shows now; the database being away does not stop the app: records
    /// wait, and the schema is made when it answers.
    /// </summary>
    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _store!.InitializeAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogStoreUnavailable(_logger, ex.GetType().Name, ex.Message);
        }
    }

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    /// <remarks>Nothing here: requests the server is still finishing write records after this. See <see cref="StoppedAsync"/>.</remarks>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    /// <remarks>After every hosted service has stopped (the server has finished its requests): write what is queued.</remarks>
    public async Task StoppedAsync(CancellationToken cancellationToken) => await DrainAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Closes the queue and waits until what it holds is written, or <paramref name="cancellationToken"/> fires.</summary>
    /// <param name="cancellationToken">When to give up (what is left is logged as lost).</param>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        _queue.Writer.TryComplete();

        // Counts as started: a record arriving after this (refused by the closed queue) must not start a loop over a
        // store that is being disposed.
        Interlocked.Exchange(ref _started, 1);
        if (_loop is not { } loop)
        {
            return;
        }

        try
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abandon.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// In a host, <see cref="StoppedAsync"/> has written the queue already. In an app without one (services built and
    /// disposed by hand, a chat client called in between) this is the only end the writer sees: it writes what is
    /// queued, for at most <see cref="DisposeDrainTime"/>.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        using (var bound = new CancellationTokenSource(DisposeDrainTime))
        {
            await DrainAsync(bound.Token).ConfigureAwait(false);
        }

        _abandon.Dispose();
    }

    /// <summary>How long a dispose waits for queued records to be written (nothing is left after a host's stop).</summary>
    internal static readonly TimeSpan DisposeDrainTime = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    /// <remarks>
    /// For a container disposed synchronously (a console app's <c>using var provider = services.BuildServiceProvider()</c>),
    /// which would otherwise throw for a service that is only <see cref="IAsyncDisposable"/>. Nothing here waits on a
    /// synchronization context: the loop runs on the thread pool.
    /// </remarks>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task RunAsync()
    {
        var batch = new List<TransactionLogRow>(_batchSize * 3);
        var records = new List<AuditRecord>(_batchSize);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abandon.Token).ConfigureAwait(false))
            {
                // A moment for the batch to fill, unless it is full already or the queue is being drained at shutdown.
                if (_batchDelay > TimeSpan.Zero && reader.Count < _batchSize && !_draining)
                {
                    await Task.Delay(_batchDelay, _time, _abandon.Token).ConfigureAwait(false);
                }

                while (records.Count < _batchSize && reader.TryRead(out var record))
                {
                    records.Add(record);
                }

                Volatile.Write(ref _inFlight, records.Count);
                var bytes = 0L;
                foreach (var record in records)
                {
                    bytes += record.Size;
                    try
                    {
                        batch.AddRange(AuditRows.Build(record, _masks.For(record.Root)));
                    }
                    catch (Exception ex)
                    {
                        // A record that cannot be turned into rows is a bug of ours: say so, keep what is plainly known
                        // of it (so the transaction is not missing from the log), and keep writing the rest.
                        LogRecordFailed(_logger, record.TransactionId, ex);
                        batch.Add(Unbuildable(record, ex));
                    }
                    finally
                    {
                        record.Dispose();
                    }
                }

                await WriteAsync(batch).ConfigureAwait(false);
                Freed(bytes);
                batch.Clear();
                records.Clear();
                Volatile.Write(ref _inFlight, 0);
            }
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            var lost = reader.Count + Volatile.Read(ref _inFlight);
            while (reader.TryRead(out var record))
            {
                record.Dispose();
            }

            if (lost > 0)
            {
                LogShutdownLost(_logger, lost);
            }
        }
    }

    /// <summary>The outcome row of a record whose rows could not be built: only plain values, nothing a body holds.</summary>
    private static TransactionLogRow Unbuildable(AuditRecord record, Exception exception) => new(
        record.TransactionId,
        record.EndedAt,
        TransactionLogRow.Outcome,
        new System.Text.Json.Nodes.JsonObject
        {
            ["status"] = record.Status,
            ["error_code"] = record.ErrorCode,
            ["api"] = record.Api,
            ["duration_ms"] = Math.Round(record.DurationMs, 3),
            ["unbuildable"] = true,
            ["reason"] = exception.GetType().Name,
        }.ToJsonString());

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: the database did not answer at start ({ExceptionType}: {Reason}); records wait until it does.")]
    private static partial void LogStoreUnavailable(ILogger logger, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: writing {Rows} rows failed ({ExceptionType}: {Reason}); retrying until the database takes them.")]
    private static partial void LogWriteFailed(ILogger logger, int rows, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit log: the database refused the rows of transaction {TransactionId} ({ExceptionType}: {Reason}); a row saying so was written instead.")]
    private static partial void LogRowsRefused(ILogger logger, string transactionId, string exceptionType, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit log: the database is back after {Failures} failed attempts; queued records are being written.")]
    private static partial void LogStoreBack(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit log: the queue is full (Luthien:TransactionLog:MaxQueued / MaxQueuedBytes); transaction {TransactionId} and others wait for room.")]
    private static partial void LogQueueFull(ILogger logger, string transactionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit log: the record of transaction {TransactionId} was not queued (shutting down).")]
    private static partial void LogRecordLost(ILogger logger, string transactionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit log: the record of transaction {TransactionId} could not be turned into rows.")]
    private static partial void LogRecordFailed(ILogger logger, string transactionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit log: shutdown timed out with {Count} transactions' records unwritten (the database did not answer).")]
    private static partial void LogShutdownLost(ILogger logger, int count);
}
