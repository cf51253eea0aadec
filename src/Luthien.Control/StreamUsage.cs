using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>The library asking the backend for stream usage on its own behalf.</summary>
public static class StreamUsage
{
    /// <summary>Set when the library, not the client, asked the backend for the usage chunk.</summary>
    public static readonly TransactionKey<bool> RequestedByLibrary = new("luthien.usage_requested_by_library");

    /// <summary>
    /// Adds <c>stream_options.include_usage: true</c> to a streamed chat request that did not ask for it, and records
    /// that it did so, so the usage chunk can be kept from the client.
    /// </summary>
    /// <param name="transaction">The transaction.</param>
    /// <param name="options">The options (see <see cref="StreamingOptions.RequestUsage"/>).</param>
    public static void RequestIfNeeded(Transaction transaction, LuthienOptions options)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Streaming.RequestUsage || transaction.Request.Chat is not { Stream: true, IncludeUsage: false } chat ||
            transaction.Data.GetOrDefault(RequestedByLibrary, false))
        {
            return;
        }

        if (chat.Payload["stream_options"] is JsonObject streamOptions)
        {
            streamOptions["include_usage"] = true;
        }
        else
        {
            chat.Payload["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        transaction.Data.Set(RequestedByLibrary, true);
    }

    /// <summary>Whether a chunk is the usage chunk (<c>choices</c> empty, <c>usage</c> set).</summary>
    /// <param name="chunk">The chunk.</param>
    public static bool IsUsageChunk(Streaming.StreamChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (!chunk.IsModified && chunk.Data.Span.IndexOf("\"usage\""u8) < 0)
        {
            return false;
        }

        return chunk.Json is { } json && json["usage"] is JsonObject && json["choices"] is JsonArray { Count: 0 };
    }
}
