using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.Sqlite;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>An SQLite audit database in a temp folder of its own, with a store of the test's own to read it back.</summary>
internal sealed class AuditDatabase : IDisposable
{
    private AuditDatabase(string folder)
    {
        Folder = folder;
        ConnectionString = $"Data Source={Path.Combine(folder, "audit.db")}";
        Store = new SqliteControlStore(ConnectionString);
    }

    /// <summary>The folder holding the database's files.</summary>
    public string Folder { get; }

    /// <summary>The connection string (also the app's <c>Luthien:TransactionLog:ConnectionString</c>).</summary>
    public string ConnectionString { get; }

    /// <summary>A store on the same file.</summary>
    public SqliteControlStore Store { get; }

    public static AuditDatabase Create() => new(Directory.CreateTempSubdirectory("luthien-audit-").FullName);

    /// <summary>The app's settings that log to this database.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Luthien:TransactionLog:Provider"] = "Sqlite",
        ["Luthien:TransactionLog:ConnectionString"] = ConnectionString,
    };

    /// <summary>A transaction's rows by datatype, once all three are written (the contract: within 3 s).</summary>
    public async Task<Dictionary<string, JsonObject>> RowsAsync(string transactionId)
    {
        for (var i = 0; i < 60; i++)
        {
            var rows = await Store.GetTransactionAsync(transactionId, CancellationToken.None);
            if (rows.Count == 3)
            {
                return rows.ToDictionary(r => r.Datatype, r => JsonNode.Parse(r.Data!)!.AsObject());
            }

            await Task.Delay(50);
        }

        Assert.Fail($"the rows of {transactionId} were not written within 3 s");
        return null!;
    }

    /// <summary>Every byte of the database's files (the main file and its WAL), as text.</summary>
    public string Bytes() =>
        string.Concat(Directory.GetFiles(Folder).Select(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            return reader.ReadToEnd();
        }));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Folder, recursive: true);
    }
}
