namespace Luthien.Control;

/// <summary>Disposes several objects once, in order.</summary>
internal sealed class DisposableGroup(params IDisposable?[] items) : IDisposable
{
    private int _disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var item in items)
        {
            item?.Dispose();
        }
    }
}
