using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Luthien.Control.Sqlite;

/// <summary>
/// The audit log and client keys in an SQLite file. The file is in WAL mode, so readers (the admin area, another
/// process on the host) never wait for the writer; writers of several processes take turns (SQLite's busy timeout).
/// </summary>
internal sealed class SqliteControlStore : DbControlStore
{
    // luthien_log's id is the rowid without AUTOINCREMENT: ids still grow with every row (rows are never deleted from
    // the end), and SQLite no longer updates its sequence table for each one — a fifth of the insert's time
    // (bench/results/audit-2026-11-26.md). Files made before this keep AUTOINCREMENT; both read the same.
    private static readonly string[] Schema =
    [
        """
        CREATE TABLE IF NOT EXISTS luthien_log (
            id INTEGER PRIMARY KEY,
            transaction_id TEXT NOT NULL,
            datetime TEXT NOT NULL,
            data TEXT,
            datatype TEXT NOT NULL,
            notes TEXT);
        CREATE UNIQUE INDEX IF NOT EXISTS ux_luthien_log_transaction ON luthien_log (transaction_id, datatype);
        CREATE INDEX IF NOT EXISTS ix_luthien_log_datetime ON luthien_log (datetime);
        CREATE INDEX IF NOT EXISTS ix_luthien_log_datatype ON luthien_log (datatype, id);
        CREATE TABLE IF NOT EXISTS luthien_client_keys (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT);
        """,
    ];

    /// <summary>How times are written: sortable as text, microseconds kept.</summary>
    private const string TimeFormat = "yyyy-MM-dd HH:mm:ss.ffffff";

    private readonly string _connectionString;
    private int _walSet;
    private bool _wal;

    /// <summary>Creates the store.</summary>
    /// <param name="connectionString">An SQLite connection string, e.g. <c>Data Source=luthien.db</c>.</param>
    public SqliteControlStore(string connectionString)
    {
        // Parsed now so that a malformed string fails at start with the key it does not know (never its value).
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("The SQLite connection string names no file (Data Source=…).", nameof(connectionString));
        }

        _connectionString = builder.ConnectionString;
    }

    /// <inheritdoc />
    protected override IReadOnlyList<string> Migrations => Schema;

    /// <summary>The insert, one row per run of the statement (SQLite took 2.5 times as long per row for statements of 200 rows).</summary>
    private static ReadOnlySpan<byte> InsertSql =>
        "INSERT INTO luthien_log (transaction_id, datetime, data, datatype, notes) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"u8;

    /// <inheritdoc />
    /// <remarks>
    /// Straight through SQLite's own API on the connection's handle: one statement prepared per batch, each row's text
    /// bound from the strings as they are (SQLite converts to UTF-8 itself), stepped and reset. The ADO.NET command
    /// path made a reader, boxed values and copied every string to UTF-8 for each row — more than half of the insert's
    /// time and all of its allocations (bench/results/audit-2026-11-26.md). The batch's transaction is ADO.NET's
    /// (<c>BEGIN IMMEDIATE</c>, with its wait for another process's write lock), so no row meets a busy database.
    /// </remarks>
    protected override Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TransactionLogRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var db = ((SqliteConnection)connection).Handle ?? throw new InvalidOperationException("The connection is not open.");
        Check(raw.sqlite3_prepare_v2(db, InsertSql, out var statement), db);
        using (statement)
        {
            Span<char> time = stackalloc char[TimeFormat.Length];
            foreach (var row in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var utc = row.Datetime.Kind == DateTimeKind.Local ? row.Datetime.ToUniversalTime() : row.Datetime;
                if (!utc.TryFormat(time, out var written, TimeFormat, CultureInfo.InvariantCulture))
                {
                    throw new InvalidOperationException("A row's time did not format.");
                }

                Check(raw.sqlite3_bind_text16(statement, 1, row.TransactionId), db);
                Check(raw.sqlite3_bind_text16(statement, 2, time[..written]), db);
                Check(row.Data is null ? raw.sqlite3_bind_null(statement, 3) : raw.sqlite3_bind_text16(statement, 3, row.Data), db);
                Check(raw.sqlite3_bind_text16(statement, 4, row.Datatype), db);
                Check(row.Notes is null ? raw.sqlite3_bind_null(statement, 5) : raw.sqlite3_bind_text16(statement, 5, row.Notes), db);
                var done = raw.sqlite3_step(statement);
                raw.sqlite3_reset(statement);
                if (done != raw.SQLITE_DONE)
                {
                    Check(done, db);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Throws SQLite's error (as ADO.NET would: a <see cref="SqliteException"/> with its code) unless <paramref name="code"/> is OK.</summary>
    private static void Check(int code, sqlite3 db)
    {
        if (code is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            SqliteException.ThrowExceptionForRC(code, db);
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _walSet, 1) == 0)
            {
                // WAL is a property of the file: set once, it stays for every connection and process.
                var pragma = connection.CreateCommand();
                await using (pragma.ConfigureAwait(false))
                {
                    pragma.CommandText = "PRAGMA journal_mode=WAL";
                    var mode = await pragma.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
                    Volatile.Write(ref _wal, string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase));
                }
            }

            if (Volatile.Read(ref _wal))
            {
                // In WAL mode NORMAL syncs the file at checkpoints rather than at every commit: a commit survives the
                // process crashing (the log's promise is for as long as the process lives); only the machine losing
                // power before the next checkpoint could undo the last ones. FULL waited ~2 ms and spent 2.5 times
                // the CPU on each small batch (bench/results/audit-2026-11-25.md). A setting of the connection, so
                // every one is told.
                await ExecuteAsync(connection, null, "PRAGMA synchronous=NORMAL", cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            Interlocked.Exchange(ref _walSet, 0);
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>The migration's transaction is <c>BEGIN IMMEDIATE</c>: it holds the file's write lock already.</remarks>
    protected override Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    /// <remarks>json_extract fails the whole query on one row that is not JSON; such a row just does not match.</remarks>
    protected override string JsonText(string column, string field) =>
        $"(CASE WHEN json_valid({column}) THEN CAST(json_extract({column}, '$.{field}') AS TEXT) END)";

    /// <inheritdoc />
    /// <remarks>As the other overload: a row that is not JSON does not match.</remarks>
    protected override string JsonText(string column, string outer, string inner) =>
        $"(CASE WHEN json_valid({column}) THEN CAST(json_extract({column}, '$.{outer}.{inner}') AS TEXT) END)";

    /// <inheritdoc />
    protected override object TimeValue(DateTime utc) => (utc.Kind == DateTimeKind.Local ? utc.ToUniversalTime() : utc).ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override DateTime ReadTime(DbDataReader reader, int ordinal) =>
        DateTime.ParseExact(reader.GetString(ordinal), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}
