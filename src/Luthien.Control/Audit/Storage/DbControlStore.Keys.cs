using System.Data.Common;
using System.Globalization;

namespace Luthien.Control;

// DbControlStore: the client keys (luthien_client_keys), stored by their hash.
internal abstract partial class DbControlStore
{
    /// <inheritdoc />
    public Task<StoredClientKey> CreateAsync(string name, string keyHash, DateTime createdAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(keyHash);
        return WithCommandAsync(async command =>
        {
            command.CommandText = "INSERT INTO luthien_client_keys (name, key_hash, created_at) VALUES (@name, @hash, @at)" + ReturningId;
            Add(command, "@name", name);
            Add(command, "@hash", keyHash);
            Add(command, "@at", TimeValue(createdAt));
            var id = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            return new StoredClientKey(id, name, createdAt, null);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> RevokeAsync(long id, DateTime revokedAt, CancellationToken cancellationToken) =>
        WithCommandAsync(async command =>
        {
            command.CommandText = "UPDATE luthien_client_keys SET revoked_at = @at WHERE id = @id AND revoked_at IS NULL";
            Add(command, "@at", TimeValue(revokedAt));
            Add(command, "@id", id);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredClientKey>> ListAsync(CancellationToken cancellationToken) =>
        WithCommandAsync(command =>
        {
            command.CommandText = "SELECT id, name, created_at, revoked_at FROM luthien_client_keys ORDER BY id DESC";
            return ReadKeysAsync(command, cancellationToken);
        }, cancellationToken);

    /// <inheritdoc />
    public Task<StoredClientKey?> FindActiveAsync(string keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        return WithCommandAsync(async command =>
        {
            command.CommandText = "SELECT id, name, created_at, revoked_at FROM luthien_client_keys WHERE key_hash = @hash AND revoked_at IS NULL";
            Add(command, "@hash", keyHash);
            var keys = await ReadKeysAsync(command, cancellationToken).ConfigureAwait(false);
            return keys.Count > 0 ? keys[0] : null;
        }, cancellationToken);
    }

    private async Task<IReadOnlyList<StoredClientKey>> ReadKeysAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var keys = new List<StoredClientKey>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(new StoredClientKey(
                    reader.GetInt64(0),
                    reader.GetString(1),
                    ReadTime(reader, 2),
                    reader.IsDBNull(3) ? null : ReadTime(reader, 3)));
            }
        }

        return keys;
    }
}
