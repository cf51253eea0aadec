using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>Which list of an output item a text-bearing part sits in.</summary>
internal enum PartFamily
{
    /// <summary>An item's <c>content</c> (message <c>output_text</c> / <c>refusal</c>, reasoning <c>reasoning_text</c>).</summary>
    Content,

    /// <summary>A reasoning item's <c>summary</c> (<c>summary_text</c>).</summary>
    Summary,

    /// <summary>A tool call's own arguments (<c>arguments</c>, or a custom tool's <c>input</c>).</summary>
    Call,
}

/// <summary>One text-bearing part of a Responses answer: the unit the adapter makes a slot of.</summary>
/// <param name="OutputIndex">The item's <c>output_index</c> as the backend numbered it.</param>
/// <param name="Family">Which list of the item the part sits in.</param>
/// <param name="Index">The part's position in that list (0 for a call).</param>
internal readonly record struct PartKey(int OutputIndex, PartFamily Family, int Index);

/// <summary>What the adapter knows of a slot: where it sits and what it carries.</summary>
internal sealed class SlotInfo(int slot, PartKey key, OutputKind kind, bool custom)
{
    public int Slot { get; } = slot;

    public PartKey Key { get; } = key;

    /// <summary>What the part's text is: answer text, refusal, reasoning or call arguments.</summary>
    public OutputKind Kind { get; } = kind;

    /// <summary>For a call: a custom tool's call (<c>input</c>, <c>custom_tool_call_input</c> events) rather than a function's.</summary>
    public bool Custom { get; } = custom;

    /// <summary>The event object where the part's text first reached the policies; repeats of it elsewhere are not read again.</summary>
    public EventMark? FirstSight { get; set; }

    /// <summary>The event object whose reading ended the part (read again, it ends it again; no other does).</summary>
    public EventMark? FinishedAt { get; set; }

    /// <summary>Where the part's text sits in a buffered answer (text added to the part goes there); never set in a stream.</summary>
    public TextSource? Location { get; set; }

    /// <summary>For a call: the event object where the call itself (name, id) reached the policies.</summary>
    public EventMark? Announced { get; set; }

    /// <summary>For a call: the name it was announced (and judged) with.</summary>
    public string? CallName { get; set; }

    /// <summary>For a call: the <c>call_id</c> it was announced with.</summary>
    public string? CallId { get; set; }

    /// <summary>The member of a text event of this part that carries its text (<c>delta</c> / <c>text</c> / …).</summary>
    public string DoneMember => Kind switch
    {
        OutputKind.Refusal => "refusal",
        OutputKind.ToolArguments => Custom ? "input" : "arguments",
        _ => "text",
    };

    /// <summary>The event type of a piece of this part's text.</summary>
    public string DeltaType => Kind switch
    {
        OutputKind.Text => "response.output_text.delta",
        OutputKind.Refusal => "response.refusal.delta",
        OutputKind.ToolArguments => Custom ? "response.custom_tool_call_input.delta" : "response.function_call_arguments.delta",
        _ => Key.Family == PartFamily.Summary ? "response.reasoning_summary_text.delta" : "response.reasoning_text.delta",
    };

    /// <summary>
    /// The finish reason, in chat completions' words, the part ends with: <c>tool_calls</c> for a call, <c>stop</c> for a
    /// message's text or refusal; none for a reasoning part, which ends no answer (a policy that adds to the end of an
    /// answer, e.g. a disclaimer, leaves it alone).
    /// </summary>
    public string? FinishReason => Kind switch
    {
        OutputKind.ToolArguments => "tool_calls",
        OutputKind.Reasoning => null,
        _ => "stop",
    };
}

/// <summary>
/// An event a slot remembers by identity only (is this the one?), through a weak reference: a slot lives as long as the
/// stream, and holding the event itself would keep its whole JSON tree (up to the largest event read) for as long, for
/// every part a backend cares to name.
/// </summary>
internal sealed class EventMark(JsonObject json)
{
    private readonly WeakReference<JsonObject> _json = new(json);

    /// <summary>Whether this marks that very event (one collected is no event being read).</summary>
    public bool Is(JsonObject json) => _json.TryGetTarget(out var target) && ReferenceEquals(target, json);
}

/// <summary>The Responses API's event types and the members the adapter reads and writes.</summary>
internal static class ResponsesEvents
{
    /// <summary>Members the library adds to an event while policies work on it; never written to a client.</summary>
    public const string Before = "luthien.before";

    /// <summary>See <see cref="Before"/>: events that follow the chunk's own.</summary>
    public const string After = "luthien.after";

    /// <summary>See <see cref="Before"/>: the chunk's own event is not sent (its pieces were removed).</summary>
    public const string Dropped = "luthien.dropped";

    /// <summary>See <see cref="Before"/>: the slot a piece of text a policy added belongs to.</summary>
    public const string SlotMember = "luthien.slot";

    /// <summary>An event a policy made to end the answer (a block): the stream then ends <c>incomplete</c>.</summary>
    public const string Block = "luthien.block";

    /// <summary>The type of a chunk made empty, to add events to.</summary>
    public const string None = "luthien.none";

    public static bool IsTerminal(string? type) => type is "response.completed" or "response.incomplete" or "response.failed";

    /// <summary>
    /// Whether an event's data is a stream's last event (<see cref="IsTerminal"/>), by the data's own <c>type</c> (what
    /// clients act on, whatever its <c>event:</c> line says); read from the bytes, no string made in OpenAI's shape.
    /// </summary>
    public static bool IsLastEvent(ReadOnlySpan<byte> data)
    {
        var type = ReadTypeBytes(data);
        return type.IsEmpty
            ? IsTerminal(ReadType(data))
            : type.SequenceEqual("response.completed"u8) || type.SequenceEqual("response.incomplete"u8) || type.SequenceEqual("response.failed"u8);
    }

    /// <summary>The top-level <c>type</c> of an event's data, read without building a tree; null if it has none or is not JSON.</summary>
    public static string? ReadType(ReadOnlySpan<byte> data)
    {
        var type = ReadTypeBytes(data, out var escaped);
        if (escaped is not null)
        {
            return escaped;
        }

        return type.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(type);
    }

    /// <summary>
    /// The bytes of the top-level <c>type</c> of an event's data, when it is a plain (unescaped) string: a slice of
    /// <paramref name="data"/>, nothing allocated. Empty when there is none or it is escaped.
    /// </summary>
    public static ReadOnlySpan<byte> ReadTypeBytes(ReadOnlySpan<byte> data)
    {
        // OpenAI writes the type first: {"type":"response.output_text.delta",… — taken without a reader when so.
        if (data.StartsWith("{\"type\":\""u8))
        {
            var rest = data[9..];
            var end = rest.IndexOfAny((byte)'"', (byte)'\\');
            // Nothing that could break the event's framing: no control character (a line break) in it.
            if (end > 0 && rest[end] == (byte)'"' && rest[..end].IndexOfAnyInRange((byte)0, (byte)0x1F) < 0)
            {
                return rest[..end];
            }
        }

        return ReadTypeBytes(data, out _);
    }

    /// <summary>As <see cref="ReadTypeBytes(ReadOnlySpan{byte})"/>; an escaped type comes out as a string instead.</summary>
    private static ReadOnlySpan<byte> ReadTypeBytes(ReadOnlySpan<byte> data, out string? escaped)
    {
        escaped = null;
        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return default;
            }

            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var isType = reader.ValueTextEquals("type"u8);
                if (!reader.Read())
                {
                    return default;
                }

                if (isType)
                {
                    if (reader.TokenType != System.Text.Json.JsonTokenType.String)
                    {
                        return default;
                    }

                    if (reader.ValueIsEscaped)
                    {
                        escaped = reader.GetString();
                        return default;
                    }

                    return data.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
                }

                reader.Skip();
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            // Not JSON, or a type that is not valid text: no type.
        }

        return default;
    }

    public static string? TypeOf(JsonObject json) => json["type"] is JsonValue v && v.TryGetValue(out string? type) ? type : null;

    public static bool TryInt(JsonObject json, string name, out int value)
    {
        value = 0;
        return json[name] is JsonValue v && v.TryGetValue(out value);
    }

    /// <summary>An integer member the event must have.</summary>
    public static int RequireInt(JsonObject json, string name, string type) =>
        TryInt(json, name, out var value) && value >= 0 ? value : throw BackendException.InvalidResponse($"a '{type}' event has no valid '{name}'.");

    /// <summary>A string member that, when present, must be a string.</summary>
    public static string? OptionalString(JsonObject json, string name, string what)
    {
        if (!json.TryGetPropertyValue(name, out var node) || node is null)
        {
            return null;
        }

        return node is JsonValue v && v.TryGetValue(out string? s) ? s : throw BackendException.InvalidResponse($"{what}'s '{name}' is not a string.");
    }
}
