using System.Buffers;

namespace Luthien.Control;

/// <summary>
/// A body read whole by <see cref="BoundedBodyReader"/>. Up to <see cref="MaxPooledBytes"/> its bytes live in a buffer
/// rented from <see cref="ArrayPool{T}.Shared"/>, given back by <see cref="Dispose"/>; above, in a plain array, so that
/// one large body is given back to the garbage collector rather than kept by the pool.
/// </summary>
internal sealed class BodyBuffer : IDisposable
{
    /// <summary>The largest buffer taken from the pool.</summary>
    public const int MaxPooledBytes = 1024 * 1024;

    private byte[] _array;
    private bool _pooled;

    private BodyBuffer(byte[] array, bool pooled)
    {
        _array = array;
        _pooled = pooled;
    }

    /// <summary>How many bytes were read.</summary>
    public int Length { get; private set; }

    /// <summary>The bytes read; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    /// <summary>The bytes read; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    /// <summary>The free space after the bytes read.</summary>
    internal Memory<byte> Free => _array.AsMemory(Length);

    internal int Capacity => _array.Length;

    /// <summary>A buffer of at least <paramref name="capacity"/> bytes.</summary>
    internal static BodyBuffer Allocate(int capacity) => new(Rent(capacity, out var pooled), pooled);

    internal void Advance(int count) => Length += count;

    /// <summary>Moves the bytes into a buffer of at least <paramref name="capacity"/> bytes.</summary>
    internal void Grow(int capacity)
    {
        var next = Rent(capacity, out var pooled);
        _array.AsSpan(0, Length).CopyTo(next);
        ReturnArray();
        _array = next;
        _pooled = pooled;
    }

    /// <summary>
    /// The bytes, to keep past <see cref="Dispose"/>: a pooled buffer is copied out at its exact size (and goes back to the
    /// pool on dispose); a plain array is handed over as it is, with no second copy of a large body.
    /// </summary>
    public ReadOnlyMemory<byte> DetachMemory()
    {
        if (_pooled)
        {
            return Span.ToArray();
        }

        var memory = Memory;
        _array = [];
        Length = 0;
        return memory;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        ReturnArray();
        _array = [];
        Length = 0;
    }

    private void ReturnArray()
    {
        if (_pooled)
        {
            _pooled = false;
            ArrayPool<byte>.Shared.Return(_array);
        }
    }

    private static byte[] Rent(int capacity, out bool pooled)
    {
        pooled = capacity is > 0 and <= MaxPooledBytes;
        return capacity == 0 ? [] : pooled ? ArrayPool<byte>.Shared.Rent(capacity) : GC.AllocateUninitializedArray<byte>(capacity);
    }
}
