using System.Security.Cryptography;

namespace Luthien.Control;

/// <summary>
/// Makes transaction ids: <c>ltx-</c>, a random prefix drawn once per process, and a counter. Unique without a random
/// draw or a clock read per request (a <see cref="Guid"/> costs both), and in order within a process.
/// </summary>
internal static class TransactionIds
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuv";
    private const int PrefixChars = 8;
    private const int CounterChars = 13;
    private static readonly ulong Instance = RandomBits(5 * PrefixChars);

    // Starts at a random point, so that an id does not tell how many requests the process has served.
    private static long _counter = (long)RandomBits(40);

    /// <summary>A new id, e.g. <c>ltx-k3v9q0ab000000e5t1lq8</c>.</summary>
    public static string Next()
    {
        var value = (ulong)Interlocked.Increment(ref _counter);
        return string.Create(4 + PrefixChars + CounterChars, value, static (span, counter) =>
        {
            "ltx-".CopyTo(span);
            Encode(Instance, span.Slice(4, PrefixChars));
            Encode(counter, span.Slice(4 + PrefixChars, CounterChars));
        });
    }

    private static void Encode(ulong value, Span<char> into)
    {
        for (var i = into.Length - 1; i >= 0; i--)
        {
            into[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
    }

    private static ulong RandomBits(int bits)
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes) & ((1UL << bits) - 1);
    }
}
