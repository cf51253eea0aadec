using Microsoft.Extensions.Primitives;

namespace Luthien.Control;

/// <summary>HTTP headers, case-insensitive by name, each with one or more values.</summary>
public sealed class HttpHeaderDictionary : Dictionary<string, StringValues>
{
    /// <summary>Creates an empty collection.</summary>
    public HttpHeaderDictionary()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    /// <summary>Creates a collection holding a copy of <paramref name="headers"/>.</summary>
    /// <param name="headers">The headers to copy.</param>
    public HttpHeaderDictionary(IEnumerable<KeyValuePair<string, StringValues>> headers)
        : base(headers, StringComparer.OrdinalIgnoreCase)
    {
    }
}
