namespace Luthien.Control;

/// <summary>A client key kept in the database: its name and state, never the key (only its hash is stored).</summary>
/// <param name="Id">The key's id.</param>
/// <param name="Name">The name given when it was created.</param>
/// <param name="CreatedAt">When it was created, UTC.</param>
/// <param name="RevokedAt">When it was revoked, UTC; <see langword="null"/> while it is active.</param>
internal sealed record StoredClientKey(long Id, string Name, DateTime CreatedAt, DateTime? RevokedAt)
{
    /// <summary>Whether the key is accepted.</summary>
    public bool IsActive => RevokedAt is null;
}

/// <summary>Client keys in the database (table <c>luthien_client_keys</c>), stored as SHA-256 hashes.</summary>
internal interface IClientKeyStore
{
    /// <summary>Stores a new key by its hash.</summary>
    /// <param name="name">The key's name (unique among active keys is not required).</param>
    /// <param name="keyHash">The key's hash (<see cref="ClientKeyHash.Of"/>).</param>
    /// <param name="createdAt">Now, UTC.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<StoredClientKey> CreateAsync(string name, string keyHash, DateTime createdAt, CancellationToken cancellationToken);

    /// <summary>Revokes a key; <see langword="false"/> when there is no active key with that id.</summary>
    /// <param name="id">The key's id.</param>
    /// <param name="revokedAt">Now, UTC.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<bool> RevokeAsync(long id, DateTime revokedAt, CancellationToken cancellationToken);

    /// <summary>Every key, newest first.</summary>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<IReadOnlyList<StoredClientKey>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The active key with this hash, if any.</summary>
    /// <param name="keyHash">The presented key's hash.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    Task<StoredClientKey?> FindActiveAsync(string keyHash, CancellationToken cancellationToken);
}

/// <summary>One database holding both the audit log and the client keys, as every provider does.</summary>
internal interface IControlStore : ITransactionLogStore, IClientKeyStore
{
}
