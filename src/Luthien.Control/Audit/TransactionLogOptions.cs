using System.ComponentModel.DataAnnotations;

namespace Luthien.Control;

/// <summary>Where the audit log (table <c>luthien_log</c>) and the database's client keys are kept.</summary>
public enum TransactionLogProvider
{
    /// <summary>No audit log and no client keys in a database.</summary>
    None,

    /// <summary>An SQLite file (package Luthien.Control.Sqlite): embedded; processes on one host may share it.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (package Luthien.Control.PostgreSql): one store for many instances.</summary>
    PostgreSql,
}

/// <summary>The audit log (<c>Luthien:TransactionLog</c>).</summary>
public sealed class TransactionLogOptions
{
    /// <summary>The database, or <see cref="TransactionLogProvider.None"/> (the default) for no audit log.</summary>
    public TransactionLogProvider Provider { get; set; } = TransactionLogProvider.None;

    /// <summary>
    /// The provider's connection string: <c>Data Source=luthien.db</c> for SQLite; Npgsql's
    /// <c>Host=…;Port=…;Username=…;Password=…;Database=…</c> for PostgreSQL. Never logged.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The most records waiting to be written (while the database is slow or away). Past it, requests wait for room
    /// when they end rather than a record being dropped. Default 100,000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxQueued { get; set; } = 100_000;

    /// <summary>
    /// The most bytes the waiting records may hold (their bodies and streams); past it, like past <see cref="MaxQueued"/>,
    /// requests wait for room when they end. Default 256 MiB.
    /// </summary>
    [Range(1024 * 1024, long.MaxValue)]
    public long MaxQueuedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>The most records written in one database transaction. Default 500.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How long the writer lets a batch fill once a record is waiting, in milliseconds. Under load a batch then holds
    /// many transactions and the cost of a database transaction is shared by all of them, instead of being paid for each
    /// request (as it was when the writer wrote whatever one wake-up found: often one transaction). A row is readable
    /// this much later. Default 50; 0 writes at once.
    /// </summary>
    [Range(0, 1000)]
    public int BatchDelayMilliseconds { get; set; } = 50;

    /// <summary>
    /// The most bytes of a request body or of an answer kept in one row; a larger one is not stored and the row says so
    /// (<c>truncated: true</c>, with the body's size). A stream keeps its events up to this many bytes. Default 1 MiB.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long an instance trusts what it read of the database's client keys: a key revoked elsewhere is refused here
    /// at most this long after. Default 2 s.
    /// </summary>
    [Range(0, 5)]
    public double KeyCacheSeconds { get; set; } = 2;
}

/// <summary>The admin area's login (<c>Luthien:Admin</c>). Without a password there is no admin area.</summary>
public sealed class AdminOptions
{
    /// <summary>The login's user name. Default <c>admin</c>.</summary>
    public string Username { get; set; } = "admin";

    /// <summary>The login's password; unset (the default) leaves the admin area off (404). Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>How long a login lasts without use. Default 8 hours.</summary>
    [Range(60, 7 * 24 * 3600)]
    public double SessionSeconds { get; set; } = 8 * 3600;

    /// <summary>
    /// How long a login lasts at most, however much it is used (a cookie someone copied stops working then too).
    /// Default 24 hours.
    /// </summary>
    [Range(60, 30 * 24 * 3600)]
    public double MaxSessionSeconds { get; set; } = 24 * 3600;

    /// <inheritdoc />
    public override string ToString() => $"{Username} (password {(string.IsNullOrEmpty(Password) ? "unset" : "set")})";
}
