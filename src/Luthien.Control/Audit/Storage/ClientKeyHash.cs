using System.Security.Cryptography;
using System.Text;

namespace Luthien.Control;

/// <summary>
/// How client keys are stored and made. A key is 32 random bytes, so a plain SHA-256 of it cannot be reversed by
/// guessing (there is no short password to try): the store keeps only that hash, and a presented key is found by its own.
/// </summary>
internal static class ClientKeyHash
{
    /// <summary>What every key made here begins with, so that a leaked one is recognisable (and secret scanners can find it).</summary>
    public const string Prefix = "lck-";

    /// <summary>The hash of a key, as lower-case hex.</summary>
    /// <param name="key">The key.</param>
    public static string Of(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Makes a new key: <see cref="Prefix"/> and 32 random bytes, base64url.</summary>
    public static string NewKey() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
