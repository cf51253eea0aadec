using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// Puts a stream's events back together as one answer, the way a client reading it would: a chat stream becomes a
/// <c>chat.completion</c> (each choice's text, refusal, tool calls and finish reason), a legacy stream a
/// <c>text_completion</c>, a Responses stream the response its last event carried. An error event is kept as
/// <c>error</c>. Only the audit log uses it, on events the client already received.
/// </summary>
internal static class StreamAssembler
{
    /// <summary>The answer the events make.</summary>
    /// <param name="api">The API (<c>chat.completions</c>, <c>completions</c>, <c>responses</c>).</param>
    /// <param name="events">Each event's data.</param>
    public static JsonObject Assemble(string? api, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return api == "responses" ? AssembleResponses(events) : AssembleChoices(api == "completions", events);
    }

    private static JsonObject AssembleResponses(IEnumerable<ReadOnlyMemory<byte>> events)
    {
        var result = new JsonObject();
        foreach (var data in events)
        {
            if (Parse(data) is not { } json)
            {
                continue;
            }

            if (json["response"] is JsonObject response)
            {
                // Each lifecycle event carries the response so far; the last one is the answer.
                result["response"] = response.DeepClone();
            }

            if (json["type"]?.GetValueKind() == JsonValueKind.String && (string?)json["type"] == "error")
            {
                result["error"] = json.DeepClone();
            }
        }

        return result;
    }

    private static JsonObject AssembleChoices(bool legacy, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        var head = new JsonObject();
        var choices = new SortedDictionary<int, Choice>();
        foreach (var data in events)
        {
            if (Parse(data) is not { } json)
            {
                continue;
            }

            if (json["error"] is JsonObject error && json["choices"] is null)
            {
                head["error"] = error.DeepClone();
                continue;
            }

            foreach (var name in (string[])["id", "created", "model", "system_fingerprint"])
            {
                if (head[name] is null && json[name] is { } value)
                {
                    head[name] = value.DeepClone();
                }
            }

            if (json["usage"] is JsonObject usage)
            {
                head["usage"] = usage.DeepClone();
            }

            if (json["choices"] is not JsonArray list)
            {
                continue;
            }

            foreach (var item in list)
            {
                if (item is not JsonObject choice || choice["index"] is not JsonValue indexValue || !indexValue.TryGetValue<int>(out var index))
                {
                    continue;
                }

                if (!choices.TryGetValue(index, out var assembled))
                {
                    choices[index] = assembled = new Choice();
                }

                assembled.Add(choice, legacy);
            }
        }

        head["object"] = legacy ? "text_completion" : "chat.completion";
        var array = new JsonArray();
        foreach (var (index, choice) in choices)
        {
            array.Add(choice.ToJson(index, legacy));
        }

        head["choices"] = array;
        return head;
    }

    /// <summary>An event's data as the library reads it; <see langword="null"/> when it cannot be read (or repeats a name, which would throw later).</summary>
    private static JsonObject? Parse(ReadOnlyMemory<byte> data) =>
        JsonHygiene.ReadNode(data.Span, out var node) == JsonFault.None ? node as JsonObject : null;

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    /// <summary>One choice as its deltas build it.</summary>
    private sealed class Choice
    {
        private readonly StringBuilder _text = new();
        private readonly StringBuilder _refusal = new();
        private readonly SortedDictionary<int, (JsonObject Call, StringBuilder Arguments)> _calls = [];
        private bool _hasText;
        private bool _hasRefusal;
        private string? _role;
        private JsonNode? _finish;

        public void Add(JsonObject choice, bool legacy)
        {
            if (choice["finish_reason"] is JsonValue finish)
            {
                _finish = finish.DeepClone();
            }

            if (legacy)
            {
                Append(_text, Text(choice["text"]), ref _hasText);
                return;
            }

            if (choice["delta"] is not JsonObject delta)
            {
                return;
            }

            _role ??= Text(delta["role"]);
            Append(_text, Text(delta["content"]), ref _hasText);
            Append(_refusal, Text(delta["refusal"]), ref _hasRefusal);
            if (delta["tool_calls"] is not JsonArray calls)
            {
                return;
            }

            foreach (var item in calls)
            {
                if (item is not JsonObject call || call["index"] is not JsonValue iv || !iv.TryGetValue<int>(out var index))
                {
                    continue;
                }

                if (!_calls.TryGetValue(index, out var entry))
                {
                    _calls[index] = entry = (new JsonObject(), new StringBuilder());
                }

                foreach (var name in (string[])["id", "type"])
                {
                    if (call[name] is { } value)
                    {
                        entry.Call[name] = value.DeepClone();
                    }
                }

                if (call["function"] is JsonObject function)
                {
                    if (function["name"] is { } fname)
                    {
                        entry.Call["name"] = fname.DeepClone();
                    }

                    entry.Arguments.Append(Text(function["arguments"]));
                }
            }
        }

        public JsonObject ToJson(int index, bool legacy)
        {
            if (legacy)
            {
                return new JsonObject { ["index"] = index, ["text"] = _text.ToString(), ["finish_reason"] = _finish?.DeepClone() };
            }

            var message = new JsonObject { ["role"] = _role ?? "assistant", ["content"] = _hasText ? _text.ToString() : null };
            if (_hasRefusal)
            {
                message["refusal"] = _refusal.ToString();
            }

            if (_calls.Count > 0)
            {
                var calls = new JsonArray();
                foreach (var (_, (call, arguments)) in _calls)
                {
                    calls.Add(new JsonObject
                    {
                        ["id"] = call["id"]?.DeepClone(),
                        ["type"] = call["type"]?.DeepClone() ?? "function",
                        ["function"] = new JsonObject { ["name"] = call["name"]?.DeepClone(), ["arguments"] = arguments.ToString() },
                    });
                }

                message["tool_calls"] = calls;
            }

            return new JsonObject { ["index"] = index, ["message"] = message, ["finish_reason"] = _finish?.DeepClone() };
        }

        private static void Append(StringBuilder builder, string? text, ref bool seen)
        {
            if (text is not null)
            {
                builder.Append(text);
                seen = true;
            }
        }
    }
}
