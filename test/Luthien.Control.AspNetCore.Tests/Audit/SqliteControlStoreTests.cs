using Luthien.Control.Sqlite;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>The SQLite store's batch write: one statement object for a whole batch, each row its own values.</summary>
public sealed class SqliteControlStoreTests
{
    private string _folder = null!;
    private SqliteControlStore _store = null!;

    [SetUp]
    public void CreateStore()
    {
        _folder = Directory.CreateTempSubdirectory("luthien-store-").FullName;
        _store = new SqliteControlStore($"Data Source={Path.Combine(_folder, "audit.db")}");
    }

    [TearDown]
    public void DeleteFolder()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task WriteAsync_BatchOfManyRows_EachRowStoredWithItsOwnValues()
    {
        var at = new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        var rows = new List<TransactionLogRow>();
        for (var i = 0; i < 250; i++)
        {
            rows.Add(new($"tx-{i:D3}", at.AddSeconds(i), TransactionLogRow.Request, $$"""{"n":{{i}}}"""));
            rows.Add(new($"tx-{i:D3}", at.AddSeconds(i + 1), TransactionLogRow.Response, i % 2 == 0 ? null : $$"""{"r":{{i}}}""", i % 3 == 0 ? $$"""{"note":{{i}}}""" : null));
            rows.Add(new($"tx-{i:D3}", at.AddSeconds(i + 2), TransactionLogRow.Outcome, $$"""{"status":{{200 + i}}}"""));
        }

        await _store.WriteAsync(rows, CancellationToken.None);

        foreach (var i in (int[])[0, 1, 3, 199, 200, 249])
        {
            var stored = await _store.GetTransactionAsync($"tx-{i:D3}", CancellationToken.None);
            Assert.That(stored.Select(r => (r.Datatype, r.Datetime, r.Data, r.Notes)), Is.EqualTo(new[]
            {
                (TransactionLogRow.Request, at.AddSeconds(i), $$"""{"n":{{i}}}""", (string?)null),
                (TransactionLogRow.Response, at.AddSeconds(i + 1), i % 2 == 0 ? null : $$"""{"r":{{i}}}""", i % 3 == 0 ? $$"""{"note":{{i}}}""" : null),
                (TransactionLogRow.Outcome, at.AddSeconds(i + 2), $$"""{"status":{{200 + i}}}""", null),
            }), $"transaction {i}");
        }

        var outcomes = await _store.QueryOutcomesAsync(new TransactionQuery { Limit = 1000 }, CancellationToken.None);
        Assert.That(outcomes, Has.Count.EqualTo(250));
    }

    [Test]
    public async Task WriteAsync_RowAlreadyStored_LeftAsItWas()
    {
        var at = new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        await _store.WriteAsync([new("tx-1", at, TransactionLogRow.Outcome, """{"status":200}""")], CancellationToken.None);

        await _store.WriteAsync(
            [new("tx-1", at, TransactionLogRow.Outcome, """{"status":500}"""), new("tx-2", at, TransactionLogRow.Outcome, """{"status":201}""")],
            CancellationToken.None);

        Assert.That((await _store.GetTransactionAsync("tx-1", CancellationToken.None)).Single().Data, Is.EqualTo("""{"status":200}"""));
        Assert.That((await _store.GetTransactionAsync("tx-2", CancellationToken.None)).Single().Data, Is.EqualTo("""{"status":201}"""));
    }
}
