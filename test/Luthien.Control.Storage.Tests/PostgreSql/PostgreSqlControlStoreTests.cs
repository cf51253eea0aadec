using System.Diagnostics;
using System.Text.Json.Nodes;
using Luthien.Control.PostgreSql;
using Npgsql;

namespace Luthien.Control.Storage.Tests.PostgreSql;

/// <summary>
/// The store contract on PostgreSQL (<see cref="TestPostgres"/>): a new database per fixture, dropped after, emptied
/// before each test.
/// </summary>
[TestFixture]
public sealed class PostgreSqlControlStoreTests : ControlStoreContractTests
{
    private static readonly DateTime T0 = new(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private string _database = string.Empty;
    private string _connectionString = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabase() => (_database, _connectionString) = await TestPostgres.CreateDatabaseAsync();

    [OneTimeTearDown]
    public async Task DropDatabase()
    {
        if (_database.Length > 0)
        {
            await TestPostgres.DropDatabaseAsync(_database);
        }
    }

    private protected override DbControlStore NewStore() => new PostgreSqlControlStore(_connectionString);

    protected override Task ResetDatabaseAsync() => ScalarAsync("DROP TABLE IF EXISTS luthien_log, luthien_client_keys, luthien_schema");

    protected override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private async Task<string?> TextAsync(string sql) => (string?)await ScalarAsync(sql);

    [TestCase("id", "bigint")]
    [TestCase("transaction_id", "text")]
    [TestCase("datetime", "timestamp without time zone")]
    [TestCase("data", "jsonb")]
    [TestCase("datatype", "text")]
    [TestCase("notes", "jsonb")]
    public async Task InitializeAsync_EmptyDatabase_CreatesLuthienControlsColumns(string column, string type)
    {
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.InitializeAsync(CancellationToken.None);

        Assert.That(
            await TextAsync($"SELECT data_type FROM information_schema.columns WHERE table_name = 'luthien_log' AND column_name = '{column}'"),
            Is.EqualTo(type));
    }

    [Test]
    public async Task InitializeAsync_EmptyDatabase_TransactionAndDatatypeUnique()
    {
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.InitializeAsync(CancellationToken.None);

        Assert.That(
            await TextAsync("SELECT indexdef FROM pg_indexes WHERE tablename = 'luthien_log' AND indexname = 'ux_luthien_log_transaction'"),
            Does.StartWith("CREATE UNIQUE INDEX").And.EndWith("(transaction_id, datatype)"));
    }

    [Test]
    public async Task InitializeAsync_LuthienControlTableWithRepeatedRows_StartsAndWrites()
    {
        // luthien_control's own table, holding two rows of one kind for a transaction: a unique index cannot be made,
        // and the log must start anyway (the table and its rows kept), not retry a failing migration for ever.
        await ScalarAsync("""
            CREATE TABLE luthien_log (id SERIAL PRIMARY KEY, transaction_id VARCHAR NOT NULL, datetime TIMESTAMP NOT NULL,
                data JSONB, datatype VARCHAR NOT NULL, notes JSONB);
            INSERT INTO luthien_log (transaction_id, datetime, data, datatype) VALUES
                ('old-1', now(), '{"a":1}', 'request'), ('old-1', now(), '{"a":2}', 'request');
            """);
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.InitializeAsync(CancellationToken.None);
        await store.WriteAsync([new TransactionLogRow("new-1", T0, TransactionLogRow.Outcome, """{"status":200}""")], CancellationToken.None);

        Assert.That(await ScalarAsync("SELECT COUNT(*) FROM luthien_log"), Is.EqualTo(3L));
        Assert.That(await store.GetTransactionAsync("new-1", CancellationToken.None), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task WriteAsync_SessionInAnotherTimeZone_StoresAndReadsUtc()
    {
        var at = T0.AddTicks(1_234_560);
        var connectionString = new NpgsqlConnectionStringBuilder(_connectionString) { Timezone = "America/New_York" }.ConnectionString;
        await using var store = new PostgreSqlControlStore(connectionString);

        await store.WriteAsync([new("tx-1", at, TransactionLogRow.Outcome, """{"status":200}""")], CancellationToken.None);
        var rows = await store.QueryOutcomesAsync(new TransactionQuery { From = at, To = at.AddTicks(10) }, CancellationToken.None);

        Assert.That(await TextAsync("SELECT datetime::text FROM luthien_log"), Is.EqualTo("2026-03-04 05:06:07.123456"));
        Assert.That(rows.Single().Datetime, Is.EqualTo(at));
    }

    [Test]
    public async Task WriteAsync_TextThatIsNotJson_StoredAsJsonString()
    {
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Response, "not json {", "")], CancellationToken.None);

        var row = (await store.GetTransactionAsync("tx-1", CancellationToken.None)).Single();
        Assert.That(JsonNode.Parse(row.Data!)!.GetValue<string>(), Is.EqualTo("not json {"));
        Assert.That(JsonNode.Parse(row.Notes!)!.GetValue<string>(), Is.Empty);
    }

    [Test]
    public async Task WriteAsync_NulAndLoneSurrogates_StoredAsReplacementCharacter()
    {
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Request, """{"t":"a\u0000b\ud800c\udc00d\ud83d\ude00"}""")], CancellationToken.None);

        var row = (await store.GetTransactionAsync("tx-1", CancellationToken.None)).Single();
        Assert.That(JsonNode.Parse(row.Data!)!["t"]!.GetValue<string>(), Is.EqualTo("a\uFFFDb\uFFFDc\uFFFDd😀"));
    }

    [Test]
    public async Task WriteAsync_NumberBeyondNumeric_StoredAsItsText()
    {
        await using var store = new PostgreSqlControlStore(_connectionString);

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Request, """{"temperature":1e999999,"top_p":0.5}""")], CancellationToken.None);

        var data = JsonNode.Parse((await store.GetTransactionAsync("tx-1", CancellationToken.None)).Single().Data!)!;
        Assert.That(data["temperature"]!.GetValue<string>(), Is.EqualTo("1e999999"));
        Assert.That(data["top_p"]!.GetValue<double>(), Is.EqualTo(0.5));
    }

    [Test]
    public async Task OpenAsync_StoreInUse_NamesItselfToTheServer()
    {
        await using var store = new PostgreSqlControlStore(_connectionString);
        await store.InitializeAsync(CancellationToken.None);

        Assert.That(
            await ScalarAsync($"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{_database}' AND application_name = 'Luthien.Control'"),
            Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task DisposeAsync_StoreUsed_ClosesItsConnectionsAndRefusesWork()
    {
        var store = new PostgreSqlControlStore(_connectionString);
        await store.InitializeAsync(CancellationToken.None);

        await store.DisposeAsync();

        // A server process ends a moment after its client closes the connection.
        var open = -1L;
        for (var wait = Stopwatch.StartNew(); open != 0 && wait.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(50))
        {
            open = (long)(await ScalarAsync($"SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '{_database}' AND application_name = 'Luthien.Control'"))!;
        }

        Assert.That(open, Is.Zero);
        Assert.That(() => store.FindActiveAsync("h", CancellationToken.None), Throws.InstanceOf<ObjectDisposedException>());
    }

    [Test]
    public void InitializeAsync_WrongPassword_FailsWithoutShowingIt()
    {
        const string password = "wrong-password-4a1b2c";
        var connectionString = new NpgsqlConnectionStringBuilder(_connectionString) { Password = password }.ConnectionString;
        using var store = new PostgreSqlControlStore(connectionString);

        var error = Assert.ThrowsAsync<PostgresException>(() => store.InitializeAsync(CancellationToken.None));

        Assert.That(error!.SqlState, Is.EqualTo(PostgresErrorCodes.InvalidPassword));
        Assert.That(error.ToString(), Does.Not.Contain(password));
    }
}
