using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Slows password guessing: per client address, the first <see cref="FreeFailures"/> failed logins cost nothing; each
/// one after locks the address out for twice as long as the last (1 s, 2 s, 4 s, … up to <see cref="MaxLockout"/>),
/// and while it is locked out no password is even checked. A success, or an hour without failures, forgets the address.
/// IPv6 clients are counted per /64 (one host usually holds a whole /64). Memory is bounded: past
/// <see cref="MaxAddresses"/> addresses, new ones share one count, so a flood of addresses slows itself down.
/// </summary>
internal sealed class AdminLoginThrottle
{
    /// <summary>Failed logins allowed without delay.</summary>
    public const int FreeFailures = 5;

    /// <summary>The longest lockout.</summary>
    public static readonly TimeSpan MaxLockout = TimeSpan.FromMinutes(15);

    /// <summary>How long an address's failures are remembered after its last one.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromHours(1);

    /// <summary>The most addresses counted separately.</summary>
    public const int MaxAddresses = 10_000;

    private const string Overflow = "*";

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Creates the throttle.</summary>
    public AdminLoginThrottle(TimeProvider time) => _time = time;

    /// <summary>How long the address must still wait before a login is checked; <see cref="TimeSpan.Zero"/> when it may try now.</summary>
    /// <param name="address">The client's address (<see langword="null"/> when unknown).</param>
    public TimeSpan LockedFor(IPAddress? address)
    {
        if (!_entries.TryGetValue(KeyOf(address, adding: false), out var entry))
        {
            return TimeSpan.Zero;
        }

        var left = entry.LockedUntil - _time.GetUtcNow();
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>
    /// Starts a login attempt, counted as a failure until <see cref="Succeed"/> says otherwise. The check and the count
    /// are one step: requests sent at once cannot all pass the check before any of them is counted.
    /// </summary>
    /// <param name="address">The client's address.</param>
    /// <param name="lockedFor">How long the address must still wait, when the attempt may not be made.</param>
    /// <param name="lockoutIfWrong">How long the address is locked out if this attempt turns out wrong.</param>
    /// <returns>Whether the attempt may be checked.</returns>
    public bool TryBegin(IPAddress? address, out TimeSpan lockedFor, out TimeSpan lockoutIfWrong)
    {
        lock (_gate)
        {
            lockedFor = LockedFor(address);
            lockoutIfWrong = lockedFor > TimeSpan.Zero ? TimeSpan.Zero : Fail(address);
            return lockedFor == TimeSpan.Zero;
        }
    }

    /// <summary>Counts a failed login.</summary>
    /// <param name="address">The client's address.</param>
    /// <returns>How long the address is now locked out.</returns>
    public TimeSpan Fail(IPAddress? address)
    {
        var now = _time.GetUtcNow();
        var entry = _entries.AddOrUpdate(
            KeyOf(address, adding: true),
            _ => Next(0, now),
            (_, old) => Next(now - old.LastFailure > Memory ? 0 : old.Failures, now));
        return entry.LockedUntil - now;
    }

    /// <summary>Forgets the address's failures after a successful login.</summary>
    /// <param name="address">The client's address.</param>
    public void Succeed(IPAddress? address) => _entries.TryRemove(KeyOf(address, adding: false), out _);

    private static Entry Next(int failures, DateTimeOffset now)
    {
        var count = failures + 1;
        var over = count - FreeFailures;
        var lockout = over <= 0
            ? TimeSpan.Zero
            : TimeSpan.FromSeconds(Math.Min(Math.Pow(2, Math.Min(over - 1, 30)), MaxLockout.TotalSeconds));
        return new Entry(count, now, now + lockout);
    }

    private string KeyOf(IPAddress? address, bool adding)
    {
        var key = address is null ? "unknown" : Normalize(address);
        if (_entries.ContainsKey(key) || _entries.Count < MaxAddresses)
        {
            return key;
        }

        if (!adding)
        {
            // An address not counted while the table is full was counted in the shared entry.
            return _entries.ContainsKey(Overflow) ? Overflow : key;
        }

        var now = _time.GetUtcNow();
        foreach (var (old, entry) in _entries)
        {
            if (now - entry.LastFailure > Memory && entry.LockedUntil <= now)
            {
                _entries.TryRemove(old, out _);
            }
        }

        return _entries.Count < MaxAddresses ? key : Overflow;
    }

    private static string Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private sealed record Entry(int Failures, DateTimeOffset LastFailure, DateTimeOffset LockedUntil);
}
