using Luthien.Control.Sqlite;
using Microsoft.Data.Sqlite;

namespace Luthien.Control.Storage.Tests.Sqlite;

/// <summary>The store contract on an SQLite file: a new file per test, deleted after.</summary>
[TestFixture]
public sealed class SqliteControlStoreTests : ControlStoreContractTests
{
    private string _path = string.Empty;

    private protected override DbControlStore NewStore() => new SqliteControlStore($"Data Source={_path}");

    protected override Task ResetDatabaseAsync()
    {
        DeleteFile();
        _path = SqliteFiles.NewPath();
        return Task.CompletedTask;
    }

    protected override async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    [TearDown]
    public void DeleteFile()
    {
        if (_path.Length > 0)
        {
            SqliteFiles.Delete(_path);
            _path = string.Empty;
        }
    }

    [Test]
    public async Task InitializeAsync_NewFile_TurnsOnWal()
    {
        await NewStore().InitializeAsync(CancellationToken.None);

        Assert.That(await ScalarAsync("PRAGMA journal_mode"), Is.EqualTo("wal"));
    }

    [Test]
    public void Constructor_NoFile_RefusedNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new SqliteControlStore("Mode=ReadWriteCreate"));

        Assert.That(error!.Message, Does.Contain("Data Source"));
    }
}
