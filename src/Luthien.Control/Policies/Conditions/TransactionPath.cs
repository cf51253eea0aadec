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
/// <remarks>
/// luthien_control's dev branch names the parts of its transaction <c>openai_request</c> / <c>openai_response</c> (a chat
/// completion, the only API it parses) and <c>raw_request</c> / <c>raw_response</c> (everything else, passed through).
/// Those names are read here with the same split, so a condition of a luthien_control policy file decides as it does
/// there: <c>openai_*</c> has a value for chat completions only, <c>raw_*</c> for every other request.
/// </remarks>
internal static class TransactionPath
{
    private static readonly string[] Roots = ["request", "response", "data", "openai_request", "openai_response", "raw_request", "raw_response"];

    /// <summary>Checks that a path is well-formed and reads nothing a condition may not read.</summary>
    /// <param name="path">The path.</param>
    /// <exception cref="ArgumentException">It is not, or it names a credential.</exception>
    public static void Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('.');
        if (parts.Length < 2 || parts.Any(p => p.Length == 0))
        {
            throw new ArgumentException($"path '{path}' must have at least two non-empty dot-separated parts.", nameof(path));
        }

        if (parts[0] is "transaction_id" or "request_type" or "is_streaming")
        {
            throw new ArgumentException(
                $"path '{path}': '{parts[0]}' is a luthien_control transaction field that conditions here cannot read; " +
                $"paths start with {string.Join(", ", Roots.Select(r => $"'{r}'"))}.", nameof(path));
        }

        if (!Roots.Contains(parts[0]))
        {
            throw new ArgumentException(
                $"path '{path}' must start with {string.Join(", ", Roots.Select(r => $"'{r}'"))}.", nameof(path));
        }

        // A condition that could read a credential could leak it bit by bit through which branch runs: refused at start
        // rather than read as null, so that the file's author learns the condition cannot work here.
        if (parts[1] == "api_key" && parts[0] is "openai_request" or "raw_request")
        {
            throw new ArgumentException(
                $"path '{path}' reads the client's API key; conditions never read credentials. Use ClientApiKeyAuth and 'data.client.key_name' instead.",
                nameof(path));
        }

        if (parts[1] == "headers" && parts.Length > 2 && IsCredentialHeader(parts[2]))
        {
            throw new ArgumentException($"path '{path}' reads the header '{parts[2]}', which may carry a credential; conditions never read credentials.", nameof(path));
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

        var request = transaction.Request;
        var isChat = request.Kind == RequestKind.ChatCompletion;
        JsonNode? root;
        int next;
        switch (parts[0], parts[1])
        {
            case ("request", "payload"):
            case ("openai_request", "payload") when isChat:
                root = request.Payload;
                next = 2;
                break;
            case ("request", "method"):
            case ("raw_request", "method") when !isChat:
                return JsonValue.Create(request.Method);
            case ("request", "path" or "api_endpoint"):
            case ("raw_request", "path") when !isChat:
                return JsonValue.Create(request.Path);
            case ("openai_request", "api_endpoint") when isChat:
                // There it starts as the request's path and becomes the backend URL once SetBackendPolicy has run.
                return JsonValue.Create(request.BackendUrl?.ToString() ?? request.Path);
            case ("raw_request", "backend_url") when !isChat:
                return request.BackendUrl is { } url ? JsonValue.Create(url.ToString()) : null;
            case ("request", "headers"):
            case ("raw_request", "headers") when !isChat:
                return parts.Length < 3 ? null : Header(request.Headers, parts[2], request.Credentials);
            case ("response", "payload"):
            case ("openai_response", "payload") when isChat:
                root = transaction.Response.Stream is null ? transaction.Response.Payload : null;
                next = 2;
                break;
            case ("response", "status_code"):
            case ("raw_response", "status_code") when !isChat:
                return transaction.Response.StatusCode is { } status ? JsonValue.Create(status) : null;
            case ("raw_response", "headers") when !isChat:
                return parts.Length < 3 || !transaction.Response.HasValue ? null : Header(transaction.Response.Headers, parts[2], request.Credentials);
            case ("data", var key):
                if (!transaction.Data.TryGetByName(key, out var value) || value is null)
                {
                    return null;
                }

                root = value as JsonNode ?? JsonSerializer.SerializeToNode(value, value.GetType());
                next = 2;
                break;
            default:
                // Credentials (api_key), bodies read as a stream (raw_request.body, raw_response.body / content), and the
                // other side of luthien_control's chat / pass-through split read as null, as a missing field does there.
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

    private static JsonValue? Header(HttpHeaderDictionary headers, string name, CredentialHeaders credentials) =>
        IsCredentialHeader(name) || credentials.Contains(name) || !headers.TryGetValue(name, out var header)
            ? null
            : JsonValue.Create(header.ToString());

    /// <summary>Whether a header may carry a credential: the names the logs hide, whatever the configuration adds.</summary>
    private static bool IsCredentialHeader(string name) => SecretRedactor.IsSensitiveHeader(name) || SecretRedactor.LooksLikeCredential(name);
}
