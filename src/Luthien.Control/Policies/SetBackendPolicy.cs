
namespace Luthien.Control;

/// <summary>Options of <see cref="SetBackendPolicy"/>.</summary>
internal sealed class SetBackendOptions : PolicyOptions
{
    /// <summary>The backend base URL, including its version segment (e.g. <c>https://api.openai.com/v1</c>).</summary>
    public string? BackendUrl { get; set; }
}

/// <summary>Sends this transaction to another backend base URL than the configured one.</summary>
public sealed class SetBackendPolicy : ControlPolicy
{
    /// <summary>Creates the policy.</summary>
    /// <param name="backendUrl">An absolute http(s) URL; <see langword="null"/> leaves the backend unchanged.</param>
    public SetBackendPolicy(string? backendUrl)
    {
        if (backendUrl is not null)
        {
            if (!Uri.TryCreate(backendUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"backend_url '{backendUrl}' is not an absolute http or https URL.", nameof(backendUrl));
            }

            BackendUrl = uri;
        }
    }

    /// <summary>The backend base URL, or <see langword="null"/>.</summary>
    public Uri? BackendUrl { get; }

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (BackendUrl is not null)
        {
            transaction.Request.BackendUrl = BackendUrl;
        }

        return next(transaction, cancellationToken);
    }
}
