namespace Luthien.Control;

/// <summary>
/// Which style a backend URL is called in (<see cref="BackendStyle"/>), and the shapes of an Azure OpenAI resource's URLs:
/// its <c>/openai</c> root, its deployment segments, its <c>api-version</c> values.
/// </summary>
internal static class BackendStyles
{
    private static readonly string[] AzureHostSuffixes = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"];

    private static RootCache? _lastRoot;

    /// <summary>The style a backend URL is called in: the configured one, or for <see cref="BackendStyle.Auto"/>, the URL's.</summary>
    /// <param name="url">The backend URL (configured, or set for the transaction).</param>
    /// <param name="configured">The configured style.</param>
    public static BackendStyle Resolve(Uri url, BackendStyle configured) =>
        configured != BackendStyle.Auto ? configured
            : IsAzureHost(url) && !LastSegmentIs(url, "v1") ? BackendStyle.Azure : BackendStyle.OpenAI;

    /// <summary>Whether the URL's host is an Azure OpenAI resource.</summary>
    /// <param name="url">The URL.</param>
    public static bool IsAzureHost(Uri url)
    {
        foreach (var suffix in AzureHostSuffixes)
        {
            if (url.Host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Why a URL cannot be an Azure backend's base URL, or <see langword="null"/> when it can.</summary>
    /// <param name="url">The configured base URL.</param>
    public static string? CheckAzureBaseUrl(Uri url)
    {
        var path = url.AbsolutePath.TrimEnd('/');
        if (LastSegmentIs(url, "v1"))
        {
            return $"'{url}' ends in /v1, Azure's OpenAI-compatible endpoint: call it in OpenAI style (Luthien:Backend:Style OpenAI, or Auto), or give the resource's endpoint (e.g. https://my-resource.openai.azure.com/openai)";
        }

        if (path.Contains("/deployments", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{url}' names a deployment: give the resource's endpoint (e.g. https://my-resource.openai.azure.com/openai); each request's model names its deployment";
        }

        return string.IsNullOrEmpty(url.Query) ? null : $"'{url}' has a query: the api-version is Luthien:Backend:ApiVersion's, or the client's";
    }

    /// <summary>
    /// The resource's <c>/openai</c> root (no trailing slash), what every Azure route is below: the base URL itself
    /// when it ends in <c>/openai</c>, else the base URL with <c>/openai</c> added (as the Azure SDK does with an endpoint).
    /// </summary>
    /// <param name="baseUrl">The backend base URL.</param>
    public static Uri AzureRoot(Uri baseUrl)
    {
        // Nearly every request goes to the same backend: reuse the last root built. Uri is immutable, so sharing is safe.
        if (_lastRoot is { } last && ReferenceEquals(last.Base, baseUrl))
        {
            return last.Root;
        }

        var path = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var root = new Uri(LastSegmentIs(baseUrl, "openai") ? path : path + "/openai", UriKind.Absolute);
        _lastRoot = new RootCache(baseUrl, root);
        return root;
    }

    /// <summary>The endpoint the Azure SDK takes: the resource's root without <c>/openai</c>, which the SDK adds.</summary>
    /// <param name="baseUrl">The backend base URL.</param>
    public static Uri AzureEndpoint(Uri baseUrl)
    {
        var root = AzureRoot(baseUrl).ToString();
        return new Uri(root[..^"openai".Length], UriKind.Absolute);
    }

    /// <summary>
    /// Whether a value can be sent as an <c>api-version</c>: a plain version token such as <c>2024-10-21</c>,
    /// <c>2025-04-01-preview</c>, <c>preview</c> or <c>latest</c> (letters, digits, <c>.</c>, <c>-</c>; at most 64).
    /// </summary>
    /// <param name="value">The value.</param>
    public static bool IsApiVersion(ReadOnlySpan<char> value) => IsToken(value, allowUnderscore: false);

    /// <summary>The request's model as the deployment segment of an Azure URL.</summary>
    /// <param name="model">The request's model.</param>
    /// <exception cref="InvalidRequestException">There is none, or it cannot name a deployment (400, param <c>model</c>).</exception>
    public static string Deployment(string? model)
    {
        if (string.IsNullOrEmpty(model))
        {
            throw new InvalidRequestException("'model' is required: it names the Azure OpenAI deployment.", "model");
        }

        // Only what Azure allows in a deployment name: nothing that could be read as a separator or a dot segment.
        if (!IsToken(model, allowUnderscore: true) || model[^1] == '.')
        {
            throw new InvalidRequestException("'model' does not name an Azure OpenAI deployment (letters, digits, '_', '-' and '.', at most 64, not ending in '.').", "model");
        }

        return model;
    }

    private static bool IsToken(ReadOnlySpan<char> value, bool allowUnderscore)
    {
        if (value.IsEmpty || value.Length > 64 || value[0] == '.')
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.') && !(allowUnderscore && c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool LastSegmentIs(Uri url, string segment)
    {
        var path = url.AbsolutePath.AsSpan().TrimEnd('/');
        var slash = path.LastIndexOf('/');
        return path[(slash + 1)..].Equals(segment, StringComparison.OrdinalIgnoreCase);
    }

    private sealed record RootCache(Uri Base, Uri Root);
}
