namespace Luthien.Control;

/// <summary>A typed key for a value in <see cref="TransactionData"/>.</summary>
/// <typeparam name="T">The type of the value.</typeparam>
/// <param name="Name">The key's name; also how <c>data.&lt;name&gt;</c> paths in conditions find the value.</param>
public sealed record TransactionKey<T>(string Name);
