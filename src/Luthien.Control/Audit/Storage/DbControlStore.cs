using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;

namespace Luthien.Control;

/// <summary>
/// The audit log and client keys over ADO.NET, for any database whose SQL is close to the standard: what differs
/// between SQLite and PostgreSQL (the schema scripts, how JSON is stored and read, how timestamps are bound, how
/// instances starting together take turns at migrating) is left to the provider.
/// </summary>
internal abstract partial class DbControlStore : IControlStore
{
    /// <summary>The values each row of <c>luthien_log</c> binds.</summary>
    private const int ParametersPerRow = 5;

    private readonly Lock _gate = new();
    private Task? _migration;

    /// <summary>
    /// The schema, one script per version, in order: version <c>n</c> is the first <c>n</c> scripts applied. A new
    /// version appends a script; an applied one never changes.
    /// </summary>
    protected abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>Opens a connection.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    protected abstract ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Takes the schema lock inside <paramref name="transaction"/>, so that one instance migrates at a time.</summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The migration's transaction.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    protected abstract Task LockSchemaAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Begins the migration's transaction (SQLite must take its write lock at once).</summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    protected virtual async ValueTask<DbTransaction> BeginSchemaTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken).ConfigureAwait(false);

    /// <summary>The SQL for a JSON value bound from parameter <paramref name="parameter"/> (PostgreSQL casts to <c>jsonb</c>).</summary>
    /// <param name="parameter">The parameter's name with its marker, e.g. <c>@d0</c>.</param>
    protected virtual string JsonValue(string parameter) => parameter;

    /// <summary>The JSON text bound for a row's <c>data</c> or <c>notes</c> (PostgreSQL makes it acceptable to <c>jsonb</c>).</summary>
    /// <param name="json">The row's JSON; <see langword="null"/> for none.</param>
    protected virtual string? JsonParameter(string? json) => json;

    /// <summary>The SQL reading top-level field <paramref name="field"/> of JSON column <paramref name="column"/> as text.</summary>
    /// <param name="column">The column.</param>
    /// <param name="field">The field's name (a fixed identifier, never user input).</param>
    protected abstract string JsonText(string column, string field);

    /// <summary>The SQL reading nested field <paramref name="outer"/>.<paramref name="inner"/> of JSON column <paramref name="column"/> as text.</summary>
    /// <param name="column">The column.</param>
    /// <param name="outer">The outer field (a fixed identifier).</param>
    /// <param name="inner">The inner field (a fixed identifier).</param>
    protected abstract string JsonText(string column, string outer, string inner);

    /// <summary>The value bound for a UTC time.</summary>
    /// <param name="utc">The time, UTC.</param>
    protected abstract object TimeValue(DateTime utc);

    /// <summary>Reads a time column back as UTC.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="ordinal">The column.</param>
    protected abstract DateTime ReadTime(DbDataReader reader, int ordinal);

    /// <summary>
    /// Rows per INSERT statement of the ADO.NET insert: one round trip for many rows, well under a database's limit on
    /// parameters. (SQLite, with no round trip to save, inserts its own way: see its store.)
    /// </summary>
    private const int RowsPerStatement = 200;

    /// <summary>The SQL that ends an INSERT so that a row already there is left alone.</summary>
    protected virtual string OnConflictDoNothing => " ON CONFLICT DO NOTHING";

    /// <summary>The SQL that makes an INSERT return the new row's id.</summary>
    protected virtual string ReturningId => " RETURNING id";

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // One migration for every caller; one that failed (the database away) is tried again by the next.
            if (_migration is null || _migration.IsFaulted || _migration.IsCanceled)
            {
                _migration = MigrateAsync();
            }

            return _migration.IsCompletedSuccessfully ? Task.CompletedTask : _migration.WaitAsync(cancellationToken);
        }
    }

    private async Task MigrateAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var cancellationToken = timeout.Token;
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await BeginSchemaTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // The lock comes first: two instances creating the same table at once may both fail on PostgreSQL.
                await LockSchemaAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS luthien_schema (version INTEGER NOT NULL)", cancellationToken).ConfigureAwait(false);
                var current = await ScalarAsync(connection, transaction, "SELECT MAX(version) FROM luthien_schema", cancellationToken).ConfigureAwait(false);
                var version = current is null or DBNull ? 0 : Convert.ToInt32(current, CultureInfo.InvariantCulture);
                if (version > Migrations.Count)
                {
                    throw new InvalidOperationException(
                        $"The database's Luthien schema is version {version}, newer than this library knows ({Migrations.Count}); upgrade the library.");
                }

                for (var next = version; next < Migrations.Count; next++)
                {
                    await ExecuteAsync(connection, transaction, Migrations[next], cancellationToken).ConfigureAwait(false);
                    await ExecuteAsync(connection, transaction, $"INSERT INTO luthien_schema (version) VALUES ({next + 1})", cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task WriteAsync(IReadOnlyList<TransactionLogRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return;
        }

        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await InsertAsync(connection, transaction, rows, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Inserts the rows in the batch's database transaction (a row already there — same transaction id and datatype —
    /// is left as it is: a retried batch does not write twice). By default through ADO.NET commands, one reused per
    /// statement size.
    /// </summary>
    /// <param name="connection">The open connection.</param>
    /// <param name="transaction">The batch's transaction.</param>
    /// <param name="rows">The rows.</param>
    /// <param name="cancellationToken">Stops the insert.</param>
    protected virtual async Task InsertAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<TransactionLogRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(rows);

        // One command for every statement of the same size, its parameters given new values: the database prepares
        // the statement once per batch, not once per statement.
        DbCommand? command = null;
        try
        {
            var perStatement = RowsPerStatement;
            for (var start = 0; start < rows.Count; start += perStatement)
            {
                var count = Math.Min(perStatement, rows.Count - start);
                if (command is null || command.Parameters.Count != count * ParametersPerRow)
                {
                    if (command is not null)
                    {
                        await command.DisposeAsync().ConfigureAwait(false);
                    }

                    command = InsertCommand(connection, transaction, count);
                }

                for (var i = 0; i < count; i++)
                {
                    var row = rows[start + i];
                    var parameters = command.Parameters;
                    parameters[(i * ParametersPerRow) + 0].Value = row.TransactionId;
                    parameters[(i * ParametersPerRow) + 1].Value = TimeValue(row.Datetime);
                    parameters[(i * ParametersPerRow) + 2].Value = (object?)JsonParameter(row.Data) ?? DBNull.Value;
                    parameters[(i * ParametersPerRow) + 3].Value = row.Datatype;
                    parameters[(i * ParametersPerRow) + 4].Value = (object?)JsonParameter(row.Notes) ?? DBNull.Value;
                }

                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (command is not null)
            {
                await command.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>An INSERT of <paramref name="count"/> rows, its parameters in row order (each row's five, as <see cref="WriteAsync"/> sets them).</summary>
    private DbCommand InsertCommand(DbConnection connection, DbTransaction transaction, int count)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        var sql = new StringBuilder("INSERT INTO luthien_log (transaction_id, datetime, data, datatype, notes) VALUES ");
        for (var i = 0; i < count; i++)
        {
            sql.Append(i == 0 ? "(" : ", (")
                .Append(CultureInfo.InvariantCulture, $"@t{i}, @w{i}, {JsonValue($"@d{i}")}, @k{i}, {JsonValue($"@n{i}")})");
            foreach (var name in (string[])["t", "w", "d", "k", "n"])
            {
                Add(command, $"@{name}{i}", null);
            }
        }

        command.CommandText = sql.Append(OnConflictDoNothing).ToString();
        return command;
    }

    /// <inheritdoc />
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await ExecuteAsync(connection, null, "SELECT 1", cancellationToken).ConfigureAwait(false);
                return true;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TransactionLogRow>> QueryOutcomesAsync(TransactionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return WithCommandAsync(command =>
        {
            var sql = new StringBuilder("SELECT id, transaction_id, datetime, data, datatype, notes FROM luthien_log WHERE datatype = @datatype");
            Add(command, "@datatype", TransactionLogRow.Outcome);
            if (query.TransactionId is { } id)
            {
                sql.Append(" AND transaction_id = @id");
                Add(command, "@id", id);
            }

            if (query.Status is { } status)
            {
                sql.Append(" AND ").Append(JsonText("data", "status")).Append(" = @status");
                Add(command, "@status", status.ToString(CultureInfo.InvariantCulture));
            }

            if (query.Model is { } model)
            {
                sql.Append(" AND ").Append(JsonText("data", "model")).Append(" = @model");
                Add(command, "@model", model);
            }

            if (query.KeyName is { } keyName)
            {
                sql.Append(" AND ").Append(JsonText("data", "client", "key_name")).Append(" = @key");
                Add(command, "@key", keyName);
            }

            if (query.From is { } from)
            {
                sql.Append(" AND datetime >= @from");
                Add(command, "@from", TimeValue(from));
            }

            if (query.To is { } to)
            {
                sql.Append(" AND datetime < @to");
                Add(command, "@to", TimeValue(to));
            }

            if (query.BeforeId is { } before)
            {
                sql.Append(" AND id < @before");
                Add(command, "@before", before);
            }

            sql.Append(" ORDER BY id DESC LIMIT @limit");
            Add(command, "@limit", Math.Clamp(query.Limit, 1, 1000));
            command.CommandText = sql.ToString();
            return ReadRowsAsync(command, cancellationToken);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<TransactionLogRow>> GetTransactionAsync(string transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transactionId);
        return WithCommandAsync(command =>
        {
            command.CommandText = "SELECT id, transaction_id, datetime, data, datatype, notes FROM luthien_log WHERE transaction_id = @id ORDER BY id";
            Add(command, "@id", transactionId);
            return ReadRowsAsync(command, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> with a command on a connection of its own (the schema made first).</summary>
    private async Task<T> WithCommandAsync<T>(Func<DbCommand, Task<T>> work, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                return await work(command).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Adds a parameter (<see langword="null"/> as <see cref="DBNull"/>).</summary>
    protected static void Add(DbCommand command, string name, object? value)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Runs a statement.</summary>
    protected static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.Transaction = transaction;
            command.CommandText = sql;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.Transaction = transaction;
            command.CommandText = sql;
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IReadOnlyList<TransactionLogRow>> ReadRowsAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<TransactionLogRow>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new TransactionLogRow(
                    reader.GetString(1),
                    ReadTime(reader, 2),
                    reader.GetString(4),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(5) ? null : reader.GetString(5))
                {
                    Id = reader.GetInt64(0),
                });
            }
        }

        return rows;
    }
}
