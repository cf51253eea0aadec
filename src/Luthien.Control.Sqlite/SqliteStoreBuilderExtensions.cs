using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.Sqlite;

/// <summary>Registers SQLite as a store Luthien.Control can use.</summary>
public static class SqliteStoreBuilderExtensions
{
    /// <summary>
    /// Lets <c>Luthien:TransactionLog:Provider</c> be <c>Sqlite</c>: the audit log (<c>luthien_log</c>) and the
    /// database's client keys in the SQLite file <c>Luthien:TransactionLog:ConnectionString</c> names. The schema is
    /// created at start if missing. Registering it does nothing while the provider is another.
    /// </summary>
    /// <param name="builder">The builder <c>AddLuthienControl</c> returned.</param>
    /// <returns>The same builder.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddSqliteStore();   // with Luthien:TransactionLog:Provider=Sqlite, ConnectionString="Data Source=luthien.db"
    /// </code>
    /// </example>
    public static LuthienControlBuilder AddSqliteStore(this LuthienControlBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new ControlStoreRegistration(
            TransactionLogProvider.Sqlite, "Luthien.Control.Sqlite", connectionString => new SqliteControlStore(connectionString)));
        return builder;
    }
}
