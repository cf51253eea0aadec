using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>A storage package's offer: the store it makes for <see cref="Provider"/>, from the connection string.</summary>
/// <param name="Provider">The provider it serves.</param>
/// <param name="Package">The package's name, for the message when it is configured but not registered.</param>
/// <param name="Create">Makes the store.</param>
internal sealed record ControlStoreRegistration(TransactionLogProvider Provider, string Package, Func<string, IControlStore> Create);

/// <summary>
/// The configured store (<c>Luthien:TransactionLog:Provider</c>), made once from the registration its package added;
/// none when the provider is <see cref="TransactionLogProvider.None"/>. Disposing it (the container does, at shutdown)
/// disposes the store it made, releasing its connection pool.
/// </summary>
internal sealed class ControlStores : IAsyncDisposable, IDisposable
{
    private readonly Lazy<IControlStore?> _store;

    /// <summary>Picks the store.</summary>
    public ControlStores(IOptions<LuthienOptions> options, IEnumerable<ControlStoreRegistration> registrations)
    {
        var log = options.Value.TransactionLog;
        var all = registrations.ToList();
        var registration = all.LastOrDefault(r => r.Provider == log.Provider);

        // A configuration the check at start refuses makes no store: the app stops with the check's message.
        _store = new(() => registration is null || Check(log, all) is not null ? null : registration.Create(log.ConnectionString!));
    }

    /// <summary>The store; <see langword="null"/> when the audit log is off.</summary>
    public IControlStore? Store => _store.Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_store.IsValueCreated)
        {
            switch (_store.Value)
            {
                case IAsyncDisposable asyncDisposable:
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                    break;
                case IDisposable disposable:
                    disposable.Dispose();
                    break;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_store.IsValueCreated && _store.Value is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    /// <summary>What is wrong with the configuration, for the check at start; <see langword="null"/> when nothing is.</summary>
    /// <param name="options">The options.</param>
    /// <param name="registrations">The storage packages registered.</param>
    public static string? Check(TransactionLogOptions options, IEnumerable<ControlStoreRegistration> registrations)
    {
        if (options.Provider == TransactionLogProvider.None)
        {
            return null;
        }

        if (!registrations.Any(r => r.Provider == options.Provider))
        {
            var (package, method) = options.Provider == TransactionLogProvider.Sqlite
                ? ("Luthien.Control.Sqlite", "AddSqliteStore")
                : ("Luthien.Control.PostgreSql", "AddPostgreSqlStore");
            return $"Luthien:TransactionLog:Provider is {options.Provider}, but its storage is not registered: add the package {package} and call .{method}() after AddLuthienControl(…).";
        }

        return string.IsNullOrWhiteSpace(options.ConnectionString)
            ? $"Luthien:TransactionLog:ConnectionString must be set when Luthien:TransactionLog:Provider is {options.Provider}."
            : null;
    }
}
