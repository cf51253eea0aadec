using Npgsql;

namespace Luthien.Control.Storage.Tests.PostgreSql;

/// <summary>
/// The PostgreSQL server the tests use: <c>LUTHIEN_TEST_POSTGRES</c>, an Npgsql connection string to a role that may
/// create databases. <c>.ci/run</c> starts a throwaway server and sets it; without it the PostgreSQL tests are ignored.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "LUTHIEN_TEST_POSTGRES";

    /// <summary>The server's connection string; ignores the calling fixture when it is not set.</summary>
    public static string ServerConnectionString()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            Assert.Ignore($"{Variable} is not set, so the PostgreSQL tests did not run. .ci/run starts a throwaway PostgreSQL server and sets it; to run them alone, start a server and set {Variable} to an Npgsql connection string (Host=…;Port=…;Username=…;Password=…;Database=postgres) of a role that may create databases.");
        }

        return value;
    }

    /// <summary>Creates an empty database with a fresh name; returns the connection string to it.</summary>
    public static async Task<(string Name, string ConnectionString)> CreateDatabaseAsync()
    {
        var server = ServerConnectionString();
        var name = $"luthien_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return (name, new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString);
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing whatever is still connected to it.</summary>
    public static async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ServerConnectionString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
