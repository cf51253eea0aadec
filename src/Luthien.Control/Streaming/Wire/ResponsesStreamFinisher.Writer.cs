using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>What the finisher knows of a stream as the client has received it, and how it writes each event.</summary>
internal sealed partial class ResponsesStreamFinisher
{
    /// <summary>The state of one stream as the client has received it.</summary>
    private sealed partial class Writer(ResponsesFormat format, long maxSaidChars)
    {
        private readonly Dictionary<int, int> _indexes = [];
        private readonly Dictionary<int, Item> _items = [];
        private readonly Dictionary<PartKey, StringBuilder> _said = [];
        private int _nextIndex;
        private long _nextSequence = -1;
        private JsonObject? _response;

        /// <summary>Whether the stream has ended (its last event, an error, or a block written).</summary>
        public bool Ended { get; private set; }

        public void Write(StreamChunk chunk, List<StreamChunk> output)
        {
            if (chunk.IsError)
            {
                // Passed as it came; the writer ends the stream there.
                output.Add(chunk);
                Ended = true;
                return;
            }

            chunk.Format ??= format;
            if (chunk.Output is ResponsesEventList { Count: 1 } scanned && Untouched(chunk, scanned))
            {
                // The common event, a delta no policy changed, where nothing before it moved: counted, passed as it came.
                Remember(format.Slot(scanned[0].Slot)!.Key, scanned[0].Text);
                _nextSequence = scanned.Sequence + 1;
                output.Add(chunk);
                return;
            }

            var root = chunk.Json ?? throw BackendException.InvalidResponse("a Responses event is not a readable JSON object.");
            if (!chunk.IsModified && chunk.Size == 0)
            {
                // The policies left nothing of it.
                chunk.Release();
                return;
            }

            var before = Take(root, ResponsesEvents.Before);
            var after = Take(root, ResponsesEvents.After);
            var dropped = root.Remove(ResponsesEvents.Dropped);
            var marked = before is not null || after is not null || dropped;
            Each(before, output);
            _eventSize = chunk.Size;
            if (!dropped && !Ended && Rewrite(root, root, out var changed))
            {
                if (marked || changed)
                {
                    chunk.MarkModified();
                }

                output.Add(chunk);
            }
            else
            {
                chunk.Release();
            }

            Each(after, output);
        }

        private bool Untouched(StreamChunk chunk, ResponsesEventList scanned)
        {
            var output = scanned[0];
            return !chunk.IsModified && !output.IsModified && !output.IsRemoved && scanned.RemovedSlots is null
                && scanned.Sequence >= 0 && (_nextSequence < 0 || scanned.Sequence == _nextSequence)
                && _indexes.TryGetValue(scanned.OutputIndex, out var written) && written == scanned.OutputIndex;
        }

        private static JsonArray? Take(JsonObject root, string name)
        {
            if (root[name] is not JsonArray list)
            {
                return null;
            }

            root.Remove(name);
            return list;
        }

        private void Each(JsonArray? events, List<StreamChunk> output)
        {
            if (events is null)
            {
                return;
            }

            foreach (var node in events.ToArray())
            {
                if (Ended)
                {
                    return;
                }

                events.Remove(node);
                _eventSize = 0;
                var made = (JsonObject)node!;
                if (ResponsesEvents.TypeOf(made) == ResponsesEvents.Block)
                {
                    Close(output);
                    return;
                }

                if (Rewrite(made, made, out _))
                {
                    output.Add(StreamChunk.FromJson(made, ResponsesEvents.TypeOf(made)));
                }
            }
        }

        /// <summary>Makes one event say what the client has been told; false when it must not be sent.</summary>
        private bool Rewrite(JsonObject json, JsonObject root, out bool changed)
        {
            changed = false;
            var type = ResponsesEvents.TypeOf(json);
            if (json[ResponsesEvents.SlotMember] is not null)
            {
                // Text a policy added: an event of its part like the backend's, told where it belongs.
                var slot = format.Slot(ResponsesEvents.RequireInt(json, ResponsesEvents.SlotMember, type!))!;
                json.Remove(ResponsesEvents.SlotMember);
                if (!_items.TryGetValue(slot.Key.OutputIndex, out var owner))
                {
                    return false;
                }

                json["item_id"] = owner.Id;
                json["output_index"] = slot.Key.OutputIndex;
                if (slot.Key.Family != PartFamily.Call)
                {
                    json[slot.Key.Family == PartFamily.Summary ? "summary_index" : "content_index"] = slot.Key.Index;
                }

                if (slot.Kind == OutputKind.Text)
                {
                    json["logprobs"] = new JsonArray();
                }

                changed = true;
            }

            if (ResponsesEvents.TryInt(json, "output_index", out var index))
            {
                if (type == "response.output_item.added")
                {
                    Keep(_eventSize);
                    _indexes[index] = _nextIndex++;
                    _items[index] = new Item(json["item"] as JsonObject);
                }

                if (!_indexes.TryGetValue(index, out var written))
                {
                    // An event of an item the client was never shown.
                    return false;
                }

                if (written != index)
                {
                    json["output_index"] = written;
                    changed = true;
                }

                changed |= Repeat(type, json, index, root);
            }
            else if (type is "response.created" or "response.in_progress" && json["response"] is JsonObject created)
            {
                _response = (JsonObject)created.DeepClone();
            }
            else if (ResponsesEvents.IsTerminal(type) && json["response"] is JsonObject response)
            {
                changed |= Final(response, root);
                Ended = true;
            }

            changed |= Sequence(json);
            return true;
        }

        private bool Sequence(JsonObject json)
        {
            if (!ResponsesEvents.TryInt(json, "sequence_number", out var number) && json["sequence_number"] is not null)
            {
                return false;
            }

            if (_nextSequence < 0)
            {
                _nextSequence = json["sequence_number"] is null ? 0 : number;
            }

            var next = _nextSequence++;
            if (json["sequence_number"] is null || number != next)
            {
                json["sequence_number"] = next;
                return true;
            }

            return false;
        }

        /// <summary>A delta adds to what the part said; an event that repeats a part's text is made to say the same.</summary>
        private bool Repeat(string? type, JsonObject json, int index, JsonObject root)
        {
            switch (type)
            {
                case "response.output_item.added":
                case "response.output_item.done":
                {
                    if (json["item"] is not JsonObject item)
                    {
                        return false;
                    }

                    var changed = FixItem(item, index, root);
                    if (type == "response.output_item.done")
                    {
                        Keep(_eventSize);
                        _items[index].Final = item;
                    }

                    return changed;
                }

                case "response.content_part.added":
                case "response.content_part.done":
                case "response.reasoning_summary_part.added":
                case "response.reasoning_summary_part.done":
                {
                    var summary = type.StartsWith("response.reasoning_summary", StringComparison.Ordinal);
                    var part = ResponsesEvents.RequireInt(json, summary ? "summary_index" : "content_index", type);
                    return json["part"] is JsonObject body && FixPart(body, new PartKey(index, summary ? PartFamily.Summary : PartFamily.Content, part), root);
                }
            }

            var key = KeyOf(type, json, index, out var done);
            if (key is not { } part2 || format.Slot(part2) is not { } slot)
            {
                return false;
            }

            if (!done)
            {
                Remember(part2, ResponsesEvents.OptionalString(json, "delta", "a delta"));
                return false;
            }

            return Fix(json, slot.DoneMember, part2, root);
        }

        private static PartKey? KeyOf(string? type, JsonObject json, int index, out bool done)
        {
            done = type?.EndsWith(".done", StringComparison.Ordinal) == true;
            return type switch
            {
                "response.output_text.delta" or "response.output_text.done" or "response.refusal.delta" or "response.refusal.done"
                    or "response.reasoning_text.delta" or "response.reasoning_text.done" =>
                    new PartKey(index, PartFamily.Content, ResponsesEvents.RequireInt(json, "content_index", type)),
                "response.reasoning_summary_text.delta" or "response.reasoning_summary_text.done" =>
                    new PartKey(index, PartFamily.Summary, ResponsesEvents.RequireInt(json, "summary_index", type)),
                "response.function_call_arguments.delta" or "response.function_call_arguments.done"
                    or "response.custom_tool_call_input.delta" or "response.custom_tool_call_input.done" =>
                    new PartKey(index, PartFamily.Call, 0),
                _ => null,
            };
        }

        private long _kept;

        /// <summary>The size of the backend event being rewritten (0 for one a policy made), counted when its item is kept.</summary>
        private int _eventSize;

        private void Remember(PartKey key, string? text)
        {
            Keep(text?.Length ?? 0);
            Said(key).Append(text);
        }

        private void Keep(long size)
        {
            _kept += size;
            if (_kept > maxSaidChars)
            {
                throw BackendException.InvalidResponse($"its answer is longer than the {maxSaidChars} characters a policed Responses stream keeps to make its repeated text agree.");
            }
        }

        private StringBuilder Said(PartKey key)
        {
            if (!_said.TryGetValue(key, out var said))
            {
                _said[key] = said = new StringBuilder();
            }

            return said;
        }

        private void Emit(List<StreamChunk> output, JsonObject json)
        {
            Sequence(json);
            output.Add(StreamChunk.FromJson(json, ResponsesEvents.TypeOf(json)));
        }

        private sealed class Item(JsonObject? added)
        {
            public JsonObject? Added { get; } = added is null ? null : (JsonObject)added.DeepClone();

            public string? Id => Added?["id"] is JsonValue v && v.TryGetValue(out string? id) ? id : null;

            public JsonObject? Final { get; set; }
        }
    }
}
