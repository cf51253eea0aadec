using System.Diagnostics.CodeAnalysis;

namespace Luthien.Control;

/// <summary>Typed values that policies of one transaction share.</summary>
public sealed class TransactionData
{
    private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

    /// <summary>Stores a value.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    public void Set<T>(TransactionKey<T> key, T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        _values[key.Name] = value;
    }

    /// <summary>Reads a value.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, if present and of type <typeparamref name="T"/>.</param>
    /// <returns>Whether a value of that type was present.</returns>
    public bool TryGet<T>(TransactionKey<T> key, [MaybeNullWhen(false)] out T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_values.TryGetValue(key.Name, out var boxed) && boxed is T typed)
        {
            value = typed;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Reads a value, or <paramref name="defaultValue"/> when absent.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="defaultValue">What to return when absent.</param>
    public T GetOrDefault<T>(TransactionKey<T> key, T defaultValue) => TryGet(key, out var v) ? v : defaultValue;

    /// <summary>Removes a value.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <returns>Whether it was present.</returns>
    public bool Remove<T>(TransactionKey<T> key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _values.Remove(key.Name);
    }

    /// <summary>Reads a value by name, whatever its type (used by <c>data.&lt;name&gt;</c> paths).</summary>
    /// <param name="name">The key's name.</param>
    /// <param name="value">The value.</param>
    public bool TryGetByName(string name, out object? value) => _values.TryGetValue(name, out value);
}
