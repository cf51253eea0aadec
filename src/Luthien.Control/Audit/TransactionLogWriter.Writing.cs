using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Luthien.Control;

// TransactionLogWriter: writing a batch — retried until the database takes it, one unstorable transaction set aside.
internal sealed partial class TransactionLogWriter
{
    /// <summary>
    /// Writes a batch, retrying until the database takes it (or the writer is abandoned at shutdown). After the second
    /// failure in a row the batch is written one transaction at a time, so that one transaction's rows the database
    /// refuses (whatever their content) cannot hold up every record behind them: such rows are replaced by a row saying
    /// so, once the database has shown it is there by taking that one.
    /// </summary>
    private async Task WriteAsync(List<TransactionLogRow> rows)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var failures = 0;
        var pending = rows;
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                if (failures < 2)
                {
                    await _store!.WriteAsync(pending, _abandon.Token).ConfigureAwait(false);
                }
                else
                {
                    pending = await WriteEachAsync(pending).ConfigureAwait(false);
                    if (pending.Count > 0)
                    {
                        throw new InvalidOperationException("The database took none of the transactions, nor a row in place of one.");
                    }
                }

                _writeDuration?.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (failures > 0)
                {
                    LogStoreBack(_logger, failures);
                }

                return;
            }
            catch (Exception ex) when (!_abandon.IsCancellationRequested)
            {
                _writeFailures?.Add(1);
                failures++;
                if (failures == 1)
                {
                    // The exception's message, never the connection string (the drivers do not put passwords in messages).
                    LogWriteFailed(_logger, pending.Count, ex.GetType().Name, ex.Message);
                }

                await Task.Delay(delay, _time, _abandon.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>
    /// Writes each transaction's rows on their own. Rows refused while the database answers are replaced by a row that
    /// says so; at the first sign that the database is away (not even the replacement is taken), stops.
    /// </summary>
    /// <returns>The rows still to write (none when all went in).</returns>
    private async Task<List<TransactionLogRow>> WriteEachAsync(List<TransactionLogRow> rows)
    {
        var groups = rows.GroupBy(r => r.TransactionId).Select(g => g.ToList()).ToList();
        for (var i = 0; i < groups.Count; i++)
        {
            try
            {
                await _store!.WriteAsync(groups[i], _abandon.Token).ConfigureAwait(false);
                continue;
            }
            catch (Exception) when (!_abandon.IsCancellationRequested)
            {
                // The database away, or these rows refused? Only a database that answers can tell.
                if (!await _store!.PingAsync(_abandon.Token).ConfigureAwait(false))
                {
                    return [.. groups.Skip(i).SelectMany(g => g)];
                }
            }

            try
            {
                // It answers: once more, in case it came back just now.
                await _store!.WriteAsync(groups[i], _abandon.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_abandon.IsCancellationRequested)
            {
                var first = groups[i][0];
                var reason = new System.Text.Json.Nodes.JsonObject { ["unstorable"] = true, ["reason"] = ex.GetType().Name }.ToJsonString();
                try
                {
                    await _store.WriteAsync([new TransactionLogRow(first.TransactionId, first.Datetime, TransactionLogRow.Outcome, reason)], _abandon.Token).ConfigureAwait(false);
                    LogRowsRefused(_logger, first.TransactionId, ex.GetType().Name, ex.Message);
                }
                catch (Exception) when (!_abandon.IsCancellationRequested)
                {
                    return [.. groups.Skip(i).SelectMany(g => g)];
                }
            }
        }

        return [];
    }
}
