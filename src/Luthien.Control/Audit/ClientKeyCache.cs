using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// The database's client keys as an instance sees them: a presented key's hash is looked up in the store and the answer
/// (found, or not) trusted for <see cref="TransactionLogOptions.KeyCacheSeconds"/> — so a key revoked on another
/// instance is refused here within that time, and a busy instance asks the database about each key once per period,
/// not once per request. A revocation made on this instance clears the cache at once.
/// </summary>
internal sealed class ClientKeyCache
{
    /// <summary>
    /// How long a request waits for the store to answer about its key before it is refused (a database dropping packets
    /// would otherwise hold every request for the driver's connect timeout, 15 s on PostgreSQL).
    /// </summary>
    internal static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The most keys remembered; past it the cache starts over (random wrong keys must not grow it).</summary>
    internal const int MaxEntries = 10_000;

    private readonly ControlStores _stores;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<string, (StoredClientKey? Key, long At, long Generation)> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<StoredClientKey?>>> _lookups = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>Creates the cache.</summary>
    public ClientKeyCache(ControlStores stores, IOptions<LuthienOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(options);
        _stores = stores;
        _time = time;
        _ttl = TimeSpan.FromSeconds(options.Value.TransactionLog.KeyCacheSeconds);
    }

    /// <summary>Whether there is a store to read keys from.</summary>
    public bool HasStore => _stores.Store is not null;

    /// <summary>The active key <paramref name="presented"/> is, if any.</summary>
    /// <param name="presented">The key the client sent.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <exception cref="ControlFailureException">The store cannot be read: the request is refused, never let through.</exception>
    public async ValueTask<StoredClientKey?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        var store = _stores.Store ?? throw ControlFailureException.Internal("ClientApiKeyAuth reads keys from the database, but no store is configured.");
        var hash = ClientKeyHash.Of(presented);
        var now = _time.GetTimestamp();
        // An answer read before the last Clear is no answer: a lookup under way then writes it for an instant before
        // it sees the Clear and removes it, and a request in that instant must not take it.
        if (_entries.TryGetValue(hash, out var entry) && entry.Generation == Volatile.Read(ref _generation) &&
            _time.GetElapsedTime(entry.At, now) < _ttl)
        {
            return entry.Key;
        }

        // One lookup per key at a time: the requests presenting a key the cache does not hold (every key in use, once
        // a period, on a busy instance) wait for the same answer instead of each asking the database. Each waits as
        // long as its own client stays; the lookup itself is bounded by LookupTimeout, not by any one client.
        Lazy<Task<StoredClientKey?>>? mine = null;
        mine = new Lazy<Task<StoredClientKey?>>(() => Observed(LookupAsync(store, hash, now, mine!)));
        var lookup = _lookups.GetOrAdd(hash, mine);
        return await lookup.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // A lookup that fails after every waiter left would otherwise be reported as an unobserved task exception (fatal
    // where a host asks for that); the waiters still there get the failure all the same.
    private static Task<StoredClientKey?> Observed(Task<StoredClientKey?> lookup)
    {
        _ = lookup.ContinueWith(
            static t => _ = t.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return lookup;
    }

    private async Task<StoredClientKey?> LookupAsync(IControlStore store, string hash, long started, Lazy<Task<StoredClientKey?>> self)
    {
        // A revocation here (Clear) while the store is being read makes what was read too old to keep.
        var generation = Volatile.Read(ref _generation);
        try
        {
            StoredClientKey? key;
            using var timeout = new CancellationTokenSource();
            timeout.CancelAfter(LookupTimeout);
            try
            {
                // Bounded here too: a store that ignored its token would otherwise hold every request for this key.
                key = await store.FindActiveAsync(hash, timeout.Token).WaitAsync(LookupTimeout).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Fail closed: a key that cannot be checked is not accepted (a revocation may be what cannot be read).
                throw ControlFailureException.Internal("The client key store could not be read.");
            }

            if (_entries.Count >= MaxEntries)
            {
                _entries.Clear();
            }

            var entry = (key, started, generation);
            _entries[hash] = entry;
            if (Volatile.Read(ref _generation) != generation)
            {
                // Cleared meanwhile: the answer may predate a revocation; the next request asks again.
                _entries.TryRemove(KeyValuePair.Create(hash, entry));
            }

            return key;
        }
        finally
        {
            // Only this lookup: after a Clear a newer one may stand under the same hash.
            _lookups.TryRemove(KeyValuePair.Create(hash, self));
        }
    }

    /// <summary>Forgets every key read so far (after a key was revoked here), and every read still under way.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();

        // Requests from now on start a lookup of their own instead of joining one that may predate the revocation.
        _lookups.Clear();
    }
}
