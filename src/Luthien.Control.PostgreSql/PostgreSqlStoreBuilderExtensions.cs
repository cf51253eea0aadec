using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.PostgreSql;

/// <summary>Registers PostgreSQL as a store Luthien.Control can use.</summary>
public static class PostgreSqlStoreBuilderExtensions
{
    /// <summary>
    /// Lets <c>Luthien:TransactionLog:Provider</c> be <c>PostgreSql</c>: the audit log (<c>luthien_log</c>) and the
    /// database's client keys in the PostgreSQL database <c>Luthien:TransactionLog:ConnectionString</c> names, which
    /// many instances may share. The schema is created at start if missing (instances starting together take turns).
    /// Registering it does nothing while the provider is another.
    /// </summary>
    /// <param name="builder">The builder <c>AddLuthienControl</c> returned.</param>
    /// <returns>The same builder.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddPostgreSqlStore();   // with Luthien:TransactionLog:Provider=PostgreSql,
    ///                              // ConnectionString="Host=db;Port=5432;Username=luthien;Password=…;Database=luthien"
    /// </code>
    /// </example>
    public static LuthienControlBuilder AddPostgreSqlStore(this LuthienControlBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new ControlStoreRegistration(
            TransactionLogProvider.PostgreSql, "Luthien.Control.PostgreSql", connectionString => new PostgreSqlControlStore(connectionString)));
        return builder;
    }
}
