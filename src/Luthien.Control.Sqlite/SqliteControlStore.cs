using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Luthien.Control.Sqlite;

/// <summary>
/// The audit log and client keys in an SQLite file. The file is in WAL mode, so readers (the admin area, another
/// process on the host) never wait for the writer; writers of several processes take turns (SQLite's busy timeout).
/// </summary>
internal sealed class SqliteControlStore : DbControlStore
{
    private static readonly string[] Schema =
    [
        """
        CREATE TABLE IF NOT EXISTS luthien_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
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

    /// <inheritdoc />
    /// <remarks>
    /// One row: the same small statement, prepared once, run for each row of a batch. SQLite took about 2.5 times as
    /// long per row for statements of 200 rows (bench/results/audit-2026-11-25.md).
    /// </remarks>
    protected override int RowsPerStatement => 1;

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
