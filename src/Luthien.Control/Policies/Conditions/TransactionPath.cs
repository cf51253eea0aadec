using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// Reads values from a transaction by dotted path, as luthien_control's conditions do:
/// <c>request.payload.&lt;json path&gt;</c>, <c>request.headers.&lt;name&gt;</c>, <c>request.method</c>, <c>request.path</c>,
/// <c>response.payload.&lt;json path&gt;</c>, <c>response.status_code</c>, <c>data.&lt;key&gt;</c>. Array elements are
/// addressed by index (<c>request.payload.messages.0.role</c>). Credentials are not reachable.
/// </summary>
internal static class TransactionPath
{
    /// <summary>Checks that a path is well-formed.</summary>
    /// <param name="path">The path.</param>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('.');
        if (parts.Length < 2 || parts.Any(p => p.Length == 0))
        {
            throw new ArgumentException($"path '{path}' must have at least two non-empty dot-separated parts.", nameof(path));
        }

        if (parts[0] is not ("request" or "response" or "data"))
        {
            throw new ArgumentException($"path '{path}' must start with 'request', 'response' or 'data'.", nameof(path));
        }
    }

    /// <summary>Resolves a path; <see langword="null"/> when any part is missing.</summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="path">The path.</param>
    public static JsonNode? Resolve(Transaction transaction, string path)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('.');
        if (parts.Length < 2)
        {
            return null;
        }

        JsonNode? root;
        int next;
        switch (parts[0], parts[1])
        {
            case ("request", "payload"):
                root = transaction.Request.Payload;
                next = 2;
                break;
            case ("request", "method"):
                return JsonValue.Create(transaction.Request.Method);
            case ("request", "path" or "api_endpoint"):
                return JsonValue.Create(transaction.Request.Path);
            case ("request", "headers"):
                if (parts.Length < 3 || SecretRedactor.IsSensitiveHeader(parts[2]) ||
                    !transaction.Request.Headers.TryGetValue(parts[2], out var header))
                {
                    return null;
                }

                return JsonValue.Create(header.ToString());
            case ("response", "payload"):
                root = transaction.Response.Stream is null ? transaction.Response.Payload : null;
                next = 2;
                break;
            case ("response", "status_code"):
                return transaction.Response.StatusCode is { } status ? JsonValue.Create(status) : null;
            case ("data", var key):
                if (!transaction.Data.TryGetByName(key, out var value) || value is null)
                {
                    return null;
                }

                root = value as JsonNode ?? JsonSerializer.SerializeToNode(value, value.GetType());
                next = 2;
                break;
            default:
                return null;
        }

        for (var i = next; i < parts.Length && root is not null; i++)
        {
            root = root switch
            {
                JsonObject o => o[parts[i]],
                JsonArray a when int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < a.Count => a[index],
                _ => null,
            };
        }

        return root;
    }
}
