using System.Text.Json;

namespace Luthien.Control;

/// <summary>
/// Keeps a policy file's secrets out of a message about it. A policy file can hold client keys (<c>ClientApiKeyAuth</c>'s
/// <c>keys</c>), and a loader's message may repeat a value of the file (a bad <c>source</c>, a pattern, a URL, a field
/// name): every string the file holds under a name that looks like it carries a credential (<c>keys</c>,
/// <c>api_key</c>, <c>token</c>, <c>secret</c>, <c>password</c>, …), at any depth, is masked in the message, and so is
/// anything shaped like an API key.
/// </summary>
internal static class PolicyFileSecrets
{
    /// <summary>What a masked value becomes.</summary>
    public const string Hidden = "***";

    // Shorter values would mask ordinary words of the message; a credential that short protects nothing anyway.
    private const int MinLength = 4;

    /// <summary>The message with every secret of <paramref name="json"/> masked.</summary>
    /// <param name="message">A message about the file.</param>
    /// <param name="json">The file's text (need not be valid JSON: then only key-shaped text is masked).</param>
    public static string Mask(string message, string json)
    {
        ArgumentNullException.ThrowIfNull(message);
        var secrets = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            Collect(document.RootElement, underCredential: false, secrets);
        }
        catch (JsonException)
        {
            // Not JSON: the loader's message then says where it broke and repeats none of it.
        }

        // Longest first: a key that contains another is masked whole.
        foreach (var secret in secrets.OrderByDescending(s => s.Length))
        {
            message = message.Replace(secret, Hidden, StringComparison.Ordinal);
        }

        return SecretRedactor.RedactText(message);
    }

    private static void Collect(JsonElement element, bool underCredential, HashSet<string> secrets)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var credential = underCredential || SecretRedactor.LooksLikeCredential(property.Name);

                    // A name can be the secret too: keys written as an object's names by mistake.
                    if (underCredential && property.Name.Length >= MinLength)
                    {
                        secrets.Add(property.Name);
                    }

                    Collect(property.Value, credential, secrets);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, underCredential, secrets);
                }

                break;
            case JsonValueKind.String when underCredential && element.GetString() is { Length: >= MinLength } value:
                secrets.Add(value);
                break;
            case JsonValueKind.Number when underCredential && element.GetRawText() is { Length: >= MinLength } number:
                secrets.Add(number);
                break;
        }
    }
}
