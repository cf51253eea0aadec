using System.Security.Claims;
using System.Text.Json.Serialization;

namespace Luthien.Control;

/// <summary>
/// Who sent a transaction's request: the name of the client key that matched (set by <c>ClientApiKeyAuth</c>) and the
/// host's signed-in user (when the host authenticates requests itself). Stored in the transaction's data as
/// <see cref="Key"/>, so conditions read <c>data.client.key_name</c> and <c>data.client.user</c>; the audit log records
/// both. It never holds a key itself.
/// </summary>
public sealed record ClientIdentity
{
    /// <summary>The data key the identity is stored under (<c>client</c>).</summary>
    public static TransactionKey<ClientIdentity> Key { get; } = new("client");

    /// <summary>The name given to the client key that matched; <see langword="null"/> when no key was checked.</summary>
    [JsonPropertyName("key_name")]
    public string? KeyName { get; init; }

    /// <summary>The name of the host's authenticated user (<see cref="ClaimsIdentity.Name"/>); <see langword="null"/> if none.</summary>
    [JsonPropertyName("user")]
    public string? UserName { get; init; }

    /// <summary>The host's authenticated user, when the host uses ASP.NET Core authentication; not serialized.</summary>
    [JsonIgnore]
    public ClaimsPrincipal? Principal { get; init; }
}
