using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// The last step of a policed Responses stream, after every policy: writes what the policies did in the API's own terms.
/// Text a policy added becomes delta events of its part; events of an item a policy removed (a call that is not allowed)
/// go, and the items after it are renumbered so <c>output_index</c> stays contiguous; every event that repeats text
/// (<c>*.done</c>, <c>response.content_part.done</c>, <c>response.output_item.done</c>, the final response) says
/// exactly what the deltas said; <c>sequence_number</c> stays contiguous; a block closes the open items and ends the
/// stream with <c>response.incomplete</c> (reason <c>content_filter</c>). A stream no policy changed passes byte for byte.
/// </summary>
internal sealed class ResponsesStreamFinisher : StreamingResponseIterator
{
    private readonly ResponsesFormat _format;
    private readonly long _maxSaidChars;

    /// <param name="inner">The policed stream.</param>
    /// <param name="format">The answer's adapter, which the policies read its events with.</param>
    /// <param name="maxSaidChars">The most text kept of what the stream said (<see cref="MaxSaidChars"/>).</param>
    public ResponsesStreamFinisher(StreamingResponseIterator inner, ResponsesFormat format, long maxSaidChars = MaxSaidChars)
    {
        Inner = inner;
        _format = format;
        _maxSaidChars = maxSaidChars;
    }

    /// <summary>
    /// The most text kept of what a stream said (UTF-16 characters over all its parts), to make its repeats agree, and of
    /// the items it was shown (counted by their events' size), to close them if a policy ends the answer: far above any
    /// answer a model gives today, and a bound on what a backend can make the library keep.
    /// </summary>
    public const long MaxSaidChars = 8 * 1024 * 1024;

    /// <summary>The policed stream this finishes.</summary>
    public StreamingResponseIterator Inner { get; }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        RunAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await Inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private async IAsyncEnumerable<StreamChunk> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var state = new Writer(_format, _maxSaidChars);
        var output = new List<StreamChunk>(2);
        await using var upstream = Inner.GetAsyncEnumerator(cancellationToken);
        while (!state.Ended && await upstream.MoveNextAsync().ConfigureAwait(false))
        {
            var chunk = upstream.Current;
            state.Write(chunk, output);
            foreach (var written in output)
            {
                yield return written;
            }

            output.Clear();
        }
    }

    /// <summary>The state of one stream as the client has received it.</summary>
    private sealed class Writer(ResponsesFormat format, long maxSaidChars)
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
