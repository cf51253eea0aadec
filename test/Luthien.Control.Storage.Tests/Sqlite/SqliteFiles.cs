using Microsoft.Data.Sqlite;

namespace Luthien.Control.Storage.Tests.Sqlite;

/// <summary>Temporary database files, removed with their WAL and shared-memory files.</summary>
internal static class SqliteFiles
{
    public static string NewPath() => Path.Combine(Path.GetTempPath(), $"luthien-test-{Guid.NewGuid():N}.db");

    public static void Delete(string path)
    {
        // Pooled connections keep the files open (and would recreate -wal/-shm on close).
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            File.Delete(file);
        }
    }
}
