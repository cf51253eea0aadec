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

        var chunk = Head(template);
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

    /// <summary>
    /// The head of a chunk the library writes itself, <c>choices</c> still to add: <c>id</c>, <c>created</c>, <c>model</c> and
    /// <c>system_fingerprint</c> from a chunk of the same stream (made up when there is none yet).
    /// </summary>
    /// <param name="template">A chunk of the same stream, or <see langword="null"/>.</param>
    public static JsonObject Head(JsonObject? template)
    {
        var chunk = new JsonObject
        {
            ["id"] = template?["id"]?.DeepClone() ?? "chatcmpl-luthien",
            ["object"] = "chat.completion.chunk",
            ["created"] = template?["created"]?.DeepClone() ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = template?["model"]?.DeepClone() ?? string.Empty,
        };
        if (template?["system_fingerprint"] is { } fingerprint)
        {
            chunk["system_fingerprint"] = fingerprint.DeepClone();
        }

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

        if (index is not JsonValue v || !v.TryGetValue(out int value))
        {
            throw BackendException.InvalidResponse($"{what} has an index that is not an integer.");
        }

        // Every index is a slot (or call) policies keep state for: a backend may not name as many as it likes.
        return IsIndex(value) ? value : throw BackendException.InvalidResponse($"{what} has an index outside 0 to {MaxIndex - 1}.");
    }

    /// <summary>
    /// The bound on choice and tool-call indexes (OpenAI allows <c>n</c> up to 128): each names a slot or call that
    /// policies keep state for, so a backend naming more could grow memory without end.
    /// </summary>
    public const int MaxIndex = 4096;

    /// <summary>Whether a choice or tool-call index is within <see cref="MaxIndex"/>.</summary>
    public static bool IsIndex(int value) => value is >= 0 and < MaxIndex;

    /// <summary>
    /// A chunk's <c>choices</c> for writing events back (made when missing), without the slots removed whole;
    /// <paramref name="originalCount"/> is how many it had.
    /// </summary>
    public static JsonArray ChoicesToWrite(JsonObject json, IReadOnlySet<int>? removedSlots, out int originalCount)
    {
        if (json["choices"] is not JsonArray choices)
        {
            json["choices"] = choices = [];
        }

        originalCount = choices.Count;
        if (removedSlots is not null)
        {
            for (var i = choices.Count - 1; i >= 0; i--)
            {
                if (removedSlots.Contains(IndexOf(choices[i])))
                {
                    choices.RemoveAt(i);
                }
            }
        }

        return choices;
    }

    /// <summary>The entry of a slot in a chunk's <c>choices</c>, if it has one.</summary>
    public static JsonObject? Find(JsonArray choices, int slot)
    {
        foreach (var node in choices)
        {
            if (node is JsonObject entry && IndexOf(entry) == slot)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>
    /// The end of a streamed chunk's write-back: entries the policies emptied (and that end nothing) go, and a chunk left
    /// with no entry and no usage says nothing more, so it is not sent (false).
    /// </summary>
    /// <param name="json">The chunk.</param>
    /// <param name="choices">Its choices, as written.</param>
    /// <param name="touched">The entries events were written into.</param>
    /// <param name="emptied">Whether an entry carries nothing any more (its finish reason aside).</param>
    /// <param name="originalCount">How many choices the chunk came with.</param>
    /// <param name="removedSlots">Slots removed whole, if any.</param>
    public static bool KeepsSomething(JsonObject json, JsonArray choices, List<JsonObject> touched, Func<JsonObject, bool> emptied, int originalCount, IReadOnlySet<int>? removedSlots)
    {
        foreach (var entry in touched)
        {
            if (emptied(entry) && entry["finish_reason"] is null)
            {
                choices.Remove(entry);
            }
        }

        return choices.Count > 0 || (originalCount == 0 && removedSlots is null && touched.Count == 0) || json["usage"] is JsonObject;
    }
}
