using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

/// <summary>
/// The stream assembler as it was before it was rewritten to read each event's bytes once and write the answer
/// straight to the row (commit 683e0e5): a <see cref="JsonDocument"/> per event and a <see cref="JsonObject"/> answer.
/// Kept unchanged as the oracle the rewrite is checked against, byte for byte; not used anywhere else.
/// </summary>
internal static class StreamAssemblerReference
{
    /// <summary>
    /// The audit mask as it was applied to a tree before rows were written token by token (<see cref="MaskedJson"/>):
    /// every string and credential-named member of <paramref name="node"/> masked in place. Kept as the oracle's masking.
    /// </summary>
    /// <param name="mask">What secrets look like.</param>
    /// <param name="node">A JSON value.</param>
    public static JsonNode? Mask(AuditMask mask, JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    if (obj[name] is JsonValue && SecretRedactor.IsSensitiveHeader(name))
                    {
                        obj[name] = "***";
                    }
                    else
                    {
                        var child = obj[name];
                        var masked = Mask(mask, child);
                        if (!ReferenceEquals(masked, child))
                        {
                            obj[name] = masked;
                        }
                    }

                    // A name is the client's text too (metadata, logit_bias, a tool schema's properties, a header).
                    var maskedName = mask.Apply(name);
                    if (!ReferenceEquals(maskedName, name))
                    {
                        var value = obj[name];
                        obj.Remove(name);
                        var unique = maskedName;
                        for (var n = 2; obj.ContainsKey(unique); n++)
                        {
                            unique = maskedName + "#" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                        }

                        obj[unique] = value;
                    }
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    var masked = Mask(mask, child);
                    if (!ReferenceEquals(masked, child))
                    {
                        array[i] = masked;
                    }
                }

                return array;
            case JsonValue value when value.TryGetValue<string>(out var text):
                var result = mask.Apply(text);
                return ReferenceEquals(result, text) ? value : JsonValue.Create(result);
            default:
                return node;
        }
    }

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
        var finished = false;
        var text = new StringBuilder();
        foreach (var data in events)
        {
            using var document = Parse(data);
            if (document is null)
            {
                continue;
            }

            var json = document.RootElement;
            if (json.TryGetProperty("response"u8, out var response) && response.ValueKind == JsonValueKind.Object)
            {
                // Each lifecycle event carries the response so far; the last one is the answer.
                result["response"] = Clone(response);
                finished |= json.TryGetProperty("type"u8, out var last) && last.ValueKind == JsonValueKind.String &&
                    (last.ValueEquals("response.completed"u8) || last.ValueEquals("response.incomplete"u8) || last.ValueEquals("response.failed"u8));
            }

            if (json.TryGetProperty("type"u8, out var type) && type.ValueKind == JsonValueKind.String)
            {
                if (type.ValueEquals("error"u8))
                {
                    result["error"] = Clone(json);
                }
                else if (type.ValueEquals("response.output_text.delta"u8) && json.TryGetProperty("delta"u8, out var delta) && delta.ValueKind == JsonValueKind.String)
                {
                    text.Append(delta.GetString());
                }
            }
        }

        // A stream cut before its last event (the client gone, the backend broken): the response so far has no output
        // yet, so the text the client did see is kept beside it.
        if (!finished && text.Length > 0)
        {
            result["output_text"] = text.ToString();
        }

        return result;
    }

    private static JsonObject AssembleChoices(bool legacy, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        var head = new JsonObject();
        var choices = new SortedDictionary<int, Choice>();
        foreach (var data in events)
        {
            using var document = Parse(data);
            if (document is null)
            {
                continue;
            }

            var json = document.RootElement;
            if (json.TryGetProperty("error"u8, out var error) && error.ValueKind == JsonValueKind.Object && !Has(json, "choices"u8))
            {
                head["error"] = Clone(error);
                continue;
            }

            foreach (var name in (string[])["id", "created", "model", "system_fingerprint"])
            {
                if (head[name] is null && json.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
                {
                    head[name] = Clone(value);
                }
            }

            if (json.TryGetProperty("usage"u8, out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                head["usage"] = Clone(usage);
            }

            if (!json.TryGetProperty("choices"u8, out var list) || list.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var choice in list.EnumerateArray())
            {
                if (choice.ValueKind != JsonValueKind.Object || !TryGetIndex(choice, out var index))
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

    /// <summary>
    /// An event's data read without building a tree (most of an event is looked at once and dropped), with the library's
    /// JSON rules (no name repeated, no lone surrogate: what would throw later is skipped now); an event that is not a
    /// JSON object, or breaks those rules, is skipped.
    /// </summary>
    private static JsonDocument? Parse(ReadOnlyMemory<byte> data)
    {
        if (!JsonHygiene.HasValidText(data.Span))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data, JsonHygiene.DocumentOptions);
        }
        catch (JsonException)
        {
            return null;
        }

        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            return document;
        }

        document.Dispose();
        return null;
    }

    /// <summary>A value kept in the answer, as a node of its own (the event's document is let go).</summary>
    private static JsonNode? Clone(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => JsonObject.Create(element.Clone()),
        JsonValueKind.Array => JsonArray.Create(element.Clone()),
        _ => JsonValue.Create(element.Clone()),
    };

    /// <summary>Whether <paramref name="json"/> has <paramref name="name"/> with a value other than null.</summary>
    private static bool Has(JsonElement json, ReadOnlySpan<byte> name) => json.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

    private static bool TryGetIndex(JsonElement item, out int index)
    {
        index = 0;
        return item.TryGetProperty("index"u8, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out index);
    }

    private static string? Text(JsonElement json, ReadOnlySpan<byte> name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

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

        public void Add(JsonElement choice, bool legacy)
        {
            if (choice.TryGetProperty("finish_reason"u8, out var finish) && finish.ValueKind is not (JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array))
            {
                _finish = Clone(finish);
            }

            if (legacy)
            {
                Append(_text, Text(choice, "text"u8), ref _hasText);
                return;
            }

            if (!choice.TryGetProperty("delta"u8, out var delta) || delta.ValueKind != JsonValueKind.Object)
            {
                return;
            }

            _role ??= Text(delta, "role"u8);
            Append(_text, Text(delta, "content"u8), ref _hasText);
            Append(_refusal, Text(delta, "refusal"u8), ref _hasRefusal);
            if (!delta.TryGetProperty("tool_calls"u8, out var calls) || calls.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object || !TryGetIndex(call, out var index))
                {
                    continue;
                }

                if (!_calls.TryGetValue(index, out var entry))
                {
                    _calls[index] = entry = (new JsonObject(), new StringBuilder());
                }

                foreach (var name in (string[])["id", "type"])
                {
                    if (call.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
                    {
                        entry.Call[name] = Clone(value);
                    }
                }

                if (call.TryGetProperty("function"u8, out var function) && function.ValueKind == JsonValueKind.Object)
                {
                    if (function.TryGetProperty("name"u8, out var fname) && fname.ValueKind != JsonValueKind.Null)
                    {
                        entry.Call["name"] = Clone(fname);
                    }

                    entry.Arguments.Append(Text(function, "arguments"u8));
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
