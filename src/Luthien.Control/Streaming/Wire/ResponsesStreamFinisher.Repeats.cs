using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>The finisher's repeats: every event that repeats a part's text made to say what the client was told, and a block closed.</summary>
internal sealed partial class ResponsesStreamFinisher
{
    private sealed partial class Writer
    {
        /// <summary>
        /// Makes a part's whole text, as an event repeats it, what the client was told: unless this event is where the
        /// policies read it (no delta carried it), in which case it is what the client is told.
        /// </summary>
        private bool Fix(JsonObject owner, string member, PartKey key, JsonObject root)
        {
            if (format.Slot(key) is not { } slot || ResponsesEvents.OptionalString(owner, member, "a part") is not { } text)
            {
                return false;
            }

            if (slot.FirstSight is null)
            {
                return false;
            }

            if (slot.FirstSight.Is(root))
            {
                if (!_said.ContainsKey(key))
                {
                    Remember(key, text);
                }

                return false;
            }

            var said = _said.TryGetValue(key, out var builder) ? builder.ToString() : string.Empty;
            if (string.Equals(said, text, StringComparison.Ordinal))
            {
                return false;
            }

            owner[member] = said;
            if (owner["logprobs"] is JsonArray { Count: > 0 })
            {
                owner["logprobs"] = new JsonArray();
            }

            return true;
        }

        private bool FixPart(JsonObject part, PartKey key, JsonObject root) => ResponsesEvents.TypeOf(part) switch
        {
            "output_text" or "summary_text" or "reasoning_text" => Fix(part, "text", key, root),
            "refusal" => Fix(part, "refusal", key, root),
            _ => false,
        };

        private bool FixItem(JsonObject item, int index, JsonObject root)
        {
            var changed = false;
            switch (ResponsesEvents.TypeOf(item))
            {
                case "function_call":
                    changed = Fix(item, "arguments", new PartKey(index, PartFamily.Call, 0), root);
                    break;
                case "custom_tool_call":
                    changed = Fix(item, "input", new PartKey(index, PartFamily.Call, 0), root);
                    break;
                default:
                    changed |= FixParts(item["content"] as JsonArray, index, PartFamily.Content, root);
                    changed |= FixParts(item["summary"] as JsonArray, index, PartFamily.Summary, root);
                    break;
            }

            return changed;
        }

        private bool FixParts(JsonArray? parts, int index, PartFamily family, JsonObject root)
        {
            var changed = false;
            for (var i = 0; parts is not null && i < parts.Count; i++)
            {
                if (parts[i] is JsonObject part)
                {
                    changed |= FixPart(part, new PartKey(index, family, i), root);
                }
            }

            return changed;
        }

        /// <summary>The response of the last event: only the items the client was shown, saying what it was told.</summary>
        private bool Final(JsonObject response, JsonObject root)
        {
            if (response["output"] is not JsonArray items)
            {
                return false;
            }

            var changed = false;
            for (var i = items.Count - 1; i >= 0; i--)
            {
                if (!_indexes.ContainsKey(i))
                {
                    items.RemoveAt(i);
                    changed = true;
                }
                else if (items[i] is JsonObject item)
                {
                    changed |= FixItem(item, i, root);
                }
            }

            return changed;
        }

        /// <summary>A block: the items still open are closed as incomplete, and the answer ends incomplete for content_filter.</summary>
        private void Close(List<StreamChunk> output)
        {
            Ended = true;
            var final = new JsonArray();
            foreach (var (index, written) in _indexes.OrderBy(i => i.Value))
            {
                var item = _items[index];
                if (item.Final is { } done)
                {
                    final.Add(done.DeepClone());
                    continue;
                }

                if (item.Added is not { } added)
                {
                    continue;
                }

                var open = (JsonObject)added.DeepClone();
                if (ResponsesEvents.TypeOf(open) is "function_call" or "custom_tool_call")
                {
                    // A call cut short is not shown as made: a client could run it.
                    continue;
                }

                open["status"] = "incomplete";
                FillParts(open, index);
                Emit(output, new JsonObject { ["type"] = "response.output_item.done", ["output_index"] = written, ["item"] = open });
                final.Add(open.DeepClone());
            }

            var response = _response is null ? new JsonObject { ["object"] = "response" } : (JsonObject)_response.DeepClone();
            response["status"] = "incomplete";
            response["incomplete_details"] = new JsonObject { ["reason"] = OutputEvent.ContentFilter };
            response["output"] = final;
            Emit(output, new JsonObject { ["type"] = "response.incomplete", ["response"] = response });
        }

        /// <summary>An open item's parts, with what the client was told of each.</summary>
        private void FillParts(JsonObject item, int index)
        {
            var content = new JsonArray();
            var summary = new JsonArray();
            foreach (var (key, said) in _said.OrderBy(s => s.Key.Index))
            {
                if (key.OutputIndex != index || format.Slot(key) is not { } slot)
                {
                    continue;
                }

                var part = slot.Kind switch
                {
                    OutputKind.Refusal => new JsonObject { ["type"] = "refusal", ["refusal"] = said.ToString() },
                    OutputKind.Text => new JsonObject { ["type"] = "output_text", ["text"] = said.ToString(), ["annotations"] = new JsonArray() },
                    _ => new JsonObject { ["type"] = key.Family == PartFamily.Summary ? "summary_text" : "reasoning_text", ["text"] = said.ToString() },
                };
                (key.Family == PartFamily.Summary ? summary : content).Add(part);
            }

            if (ResponsesEvents.TypeOf(item) == "reasoning")
            {
                item["summary"] = summary;
                if (content.Count > 0)
                {
                    item["content"] = content;
                }
            }
            else
            {
                item["content"] = content;
            }
        }
    }
}
