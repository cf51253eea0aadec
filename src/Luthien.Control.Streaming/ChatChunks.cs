using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// Builds the <c>chat.completion.chunk</c> events the library writes itself. They copy <c>id</c>, <c>created</c>,
/// <c>model</c> and <c>system_fingerprint</c> from a chunk of the same stream, so every official client parses them.
/// </summary>
internal static class ChatChunks
{
    /// <summary>The <c>finish_reason</c> values clients know.</summary>
    public static readonly IReadOnlySet<string> KnownFinishReasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "stop", "length", "tool_calls", "content_filter", "function_call",
    };

    /// <summary>A chunk with one choice.</summary>
    /// <param name="template">A chunk of the same stream, for <c>id</c>, <c>created</c>, <c>model</c>, <c>system_fingerprint</c>.</param>
    /// <param name="index">The choice index.</param>
    /// <param name="delta">The delta; an empty one when <see langword="null"/>.</param>
    /// <param name="finishReason">The finish reason, one of <see cref="KnownFinishReasons"/>, or <see langword="null"/>.</param>
    public static StreamChunk Choice(JsonObject template, int index, JsonObject? delta, string? finishReason)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (finishReason is not null && !KnownFinishReasons.Contains(finishReason))
        {
            throw new ArgumentException($"'{finishReason}' is not a finish_reason clients know.", nameof(finishReason));
        }

        var chunk = new JsonObject
        {
            ["id"] = template["id"]?.DeepClone() ?? "chatcmpl-luthien",
            ["object"] = "chat.completion.chunk",
            ["created"] = template["created"]?.DeepClone() ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = template["model"]?.DeepClone() ?? string.Empty,
        };
        if (template["system_fingerprint"] is { } fingerprint)
        {
            chunk["system_fingerprint"] = fingerprint.DeepClone();
        }

        chunk["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = index,
            ["delta"] = delta ?? new JsonObject(),
            ["logprobs"] = null,
            ["finish_reason"] = finishReason,
        });
        return StreamChunk.FromJson(chunk);
    }

    /// <summary>A chunk that adds text to a choice.</summary>
    /// <param name="template">A chunk of the same stream.</param>
    /// <param name="index">The choice index.</param>
    /// <param name="text">The text.</param>
    public static StreamChunk Text(JsonObject template, int index, string text) =>
        Choice(template, index, new JsonObject { ["content"] = text }, null);

    /// <summary>A chunk that ends a choice because a policy filtered it (<c>finish_reason: "content_filter"</c>).</summary>
    /// <param name="template">A chunk of the same stream.</param>
    /// <param name="index">The choice index.</param>
    public static StreamChunk ContentFilter(JsonObject template, int index) => Choice(template, index, null, "content_filter");

    /// <summary>How many choices the client asked for (<c>n</c>, default 1).</summary>
    /// <param name="transaction">The transaction.</param>
    public static int RequestedChoices(Transaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return transaction.Request.Chat?.Payload["n"] is JsonValue v && v.TryGetValue(out int n) && n > 0 ? n : 1;
    }

    /// <summary>
    /// Removes the entries of some choices from a chunk: returns the chunk itself when none was there, the chunk
    /// rewritten when others remain (or it carries usage), and <see langword="null"/> when nothing is left to send.
    /// </summary>
    /// <param name="chunk">The chunk.</param>
    /// <param name="indexes">The choice indexes to remove.</param>
    public static StreamChunk? WithoutChoices(StreamChunk chunk, IReadOnlySet<int> indexes)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(indexes);
        if (indexes.Count == 0 || chunk.Json is not { } json || json["choices"] is not JsonArray choices)
        {
            return chunk;
        }

        var removed = false;
        for (var i = choices.Count - 1; i >= 0; i--)
        {
            if (indexes.Contains(IndexOf(choices[i])))
            {
                choices.RemoveAt(i);
                removed = true;
            }
        }

        if (!removed)
        {
            return chunk;
        }

        if (choices.Count == 0 && json["usage"] is not JsonObject)
        {
            return null;
        }

        chunk.MarkModified();
        return chunk;
    }

    /// <summary>The choice index of a choice entry (0 when absent).</summary>
    /// <param name="choice">A choice entry.</param>
    /// <exception cref="BackendException">The index is not an integer (502 <c>backend_invalid_response</c>).</exception>
    public static int IndexOf(JsonNode? choice) => IntegerIndex(choice, "a choice");

    /// <summary>
    /// The <c>index</c> of a choice or tool call: 0 when absent; an index that is not an integer (<c>1.0</c>, <c>"1"</c>)
    /// is refused, since reading it as another entry's index would let one entry pass under another's decision.
    /// </summary>
    internal static int IntegerIndex(JsonNode? entry, string what)
    {
        if (entry is not JsonObject o || !o.TryGetPropertyValue("index", out var index) || index is null)
        {
            return 0;
        }

        return index is JsonValue v && v.TryGetValue(out int value)
            ? value
            : throw BackendException.InvalidResponse($"{what} has an index that is not an integer.");
    }
}
