using Luthien.Control.Sqlite;
using Microsoft.Data.Sqlite;

namespace Luthien.Control.Storage.Tests.Sqlite;

/// <summary>One SQLite file shared by several processes on a host: here, stores that share nothing but the file.</summary>
[TestFixture]
public sealed class SqliteSharedFileTests
{
    private static readonly DateTime T0 = new(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private string _path = string.Empty;

    [SetUp]
    public void NewFile() => _path = SqliteFiles.NewPath();

    [TearDown]
    public void DeleteFile() => SqliteFiles.Delete(_path);

    private SqliteControlStore NewStore() => new($"Data Source={_path}");

    private static TransactionLogRow Row(string id) => new(id, T0, TransactionLogRow.Outcome, """{"status":200}""");

    [Test]
    public async Task WriteAsync_TwoProcessesWritingAndReadingTogether_NoneFailsAndEveryRowIsKept()
    {
        var first = NewStore();
        var second = NewStore();

        var writers = Enumerable.Range(0, 2).Select(p => Task.Run(async () =>
        {
            var store = p == 0 ? first : second;
            for (var batch = 0; batch < 30; batch++)
            {
                await store.WriteAsync(Enumerable.Range(0, 10).Select(i => Row($"p{p}-{batch}-{i}")).ToList(), CancellationToken.None);
                await store.QueryOutcomesAsync(new TransactionQuery { Limit = 20 }, CancellationToken.None);
            }
        }));
        await Task.WhenAll(writers);

        var all = await first.QueryOutcomesAsync(new TransactionQuery { Limit = 1000 }, CancellationToken.None);
        Assert.That(all, Has.Count.EqualTo(2 * 30 * 10));
        Assert.That(all.Select(r => r.Id), Is.Unique);
    }

    [Test]
    public async Task WriteAsync_AnotherProcessHoldsTheWriteLock_WaitsForItInsteadOfFailing()
    {
        var store = NewStore();
        await store.InitializeAsync(CancellationToken.None);
        await using var other = new SqliteConnection($"Data Source={_path};Pooling=False");
        await other.OpenAsync();
        var transaction = (SqliteTransaction)await other.BeginTransactionAsync();
        await using (var insert = other.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO luthien_log (transaction_id, datetime, data, datatype) VALUES ('other', '2026-01-01 00:00:00.000000', NULL, 'outcome')";
            await insert.ExecuteNonQueryAsync();
        }

        // Microsoft.Data.Sqlite's async methods run synchronously (waiting on the lock blocks the caller).
        var write = Task.Run(() => store.WriteAsync([Row("mine")], CancellationToken.None));
        await Task.Delay(500);
        Assert.That(write.IsCompleted, Is.False, "the write should wait for the other process's transaction");
        await transaction.CommitAsync();
        await write;

        var ids = (await store.QueryOutcomesAsync(new TransactionQuery(), CancellationToken.None)).Select(r => r.TransactionId);
        Assert.That(ids, Is.EquivalentTo(new[] { "other", "mine" }));
    }

    [Test]
    public async Task FindActiveAsync_KeyRevokedByAnotherProcess_NotFound()
    {
        var admin = NewStore();
        var proxy = NewStore();
        var key = await admin.CreateAsync("ci", "h1", T0, CancellationToken.None);
        Assert.That(await proxy.FindActiveAsync("h1", CancellationToken.None), Is.Not.Null);

        await admin.RevokeAsync(key.Id, T0, CancellationToken.None);

        Assert.That(await proxy.FindActiveAsync("h1", CancellationToken.None), Is.Null);
    }
}
