using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// The usage chunk of a streamed chat or legacy completion answer: asking the backend for it, recognising it, and the <c>"usage":null</c>
/// members a backend adds to every other chunk once it was asked.
/// </summary>
internal static class StreamUsage
{
    /// <summary>Adds <c>stream_options.include_usage: true</c> to a request (other stream options are kept).</summary>
    /// <param name="request">The request: a chat or legacy completion.</param>
    public static void Ask(TransactionRequest request)
    {
        if (!request.TakesStreamOptions || request.Payload is not { } payload)
        {
            throw new InvalidOperationException("Only chat and legacy completions take stream_options.");
        }

        if (payload["stream_options"] is JsonObject streamOptions)
        {
            streamOptions["include_usage"] = true;
        }
        else
        {
            payload["stream_options"] = new JsonObject { ["include_usage"] = true };
        }
    }

    /// <summary>Whether a chunk is the usage chunk (<c>choices</c> empty, <c>usage</c> set).</summary>
    /// <param name="chunk">The chunk.</param>
    public static bool IsUsageChunk(StreamChunk chunk)
    {
        // Cheap pre-checks: no "usage" at all, or OpenAI's `,"usage":null}` ending (every chunk carries it once usage was
        // asked for): not the usage chunk, and not parsed here.
        if (!chunk.IsModified && (chunk.Data.Span.IndexOf("\"usage\""u8) < 0 || chunk.Data.Span.EndsWith(",\"usage\":null}"u8)))
        {
            return false;
        }

        return chunk.Json is { } json && json["usage"] is JsonObject && json["choices"] is JsonArray { Count: 0 };
    }

    /// <summary>
    /// Finds a top-level <c>"usage":null</c> member in a chunk's JSON, with the comma that separates it, so a chunk the
    /// library asked usage for can be written exactly as the client would have received it without. OpenAI writes it
    /// last (<c>…,"usage":null}</c>), which is checked first; anything else takes a structural read.
    /// </summary>
    /// <param name="json">The chunk's bytes.</param>
    /// <param name="length">The length of the part to cut.</param>
    /// <returns>Where the part to cut starts, or -1 when there is none.</returns>
    public static int FindNullUsageMember(ReadOnlySpan<byte> json, out int length)
    {
        length = 0;
        var at = json.IndexOf("\"usage\""u8);
        if (at < 0)
        {
            return -1;
        }

        // The usual shape: the last member before the closing brace. The final } of a JSON object closes the root,
        // and a string cannot end in `null`, so this suffix can only be the root's own member.
        ReadOnlySpan<byte> suffix = ",\"usage\":null}"u8;
        if (json.EndsWith(suffix) && json.LastIndexOf("\"usage\""u8) == json.Length - suffix.Length + 1)
        {
            length = suffix.Length - 1;
            return json.Length - suffix.Length;
        }

        return FindNullUsageByReading(json, out length);
    }

    private static int FindNullUsageByReading(ReadOnlySpan<byte> json, out int length)
    {
        length = 0;
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return -1;
            }

            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var nameStart = (int)reader.TokenStartIndex;
                var isUsage = reader.ValueTextEquals("usage"u8);
                reader.Read();
                if (isUsage && reader.TokenType == System.Text.Json.JsonTokenType.Null)
                {
                    var valueEnd = (int)reader.BytesConsumed;
                    var before = json[..nameStart].TrimEnd(" \t\r\n"u8);
                    if (before.Length > 0 && before[^1] == (byte)',')
                    {
                        length = valueEnd - (before.Length - 1);
                        return before.Length - 1;
                    }

                    // The first member: cut it with the comma after it, if any.
                    var after = json[valueEnd..];
                    var rest = after.TrimStart(" \t\r\n"u8);
                    var end = rest.Length > 0 && rest[0] == (byte)',' ? valueEnd + (after.Length - rest.Length) + 1 : valueEnd;
                    length = end - nameStart;
                    return nameStart;
                }

                reader.Skip();
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a JSON object: nothing to cut; the chunk goes out as it came.
        }

        return -1;
    }
}
