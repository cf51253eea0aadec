using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>The Responses adapter's write-back: what policies changed, removed and added, into the event or response JSON.</summary>
internal sealed partial class ResponsesFormat
{
    /// <inheritdoc />
    public override bool Encode(StreamChunk chunk, IReadOnlyList<OutputEvent> events, IReadOnlySet<int>? removedSlots)
    {
        var root = chunk.Tree ?? throw BackendException.InvalidResponse("a Responses event is not a readable JSON object.");
        var list = events as OutputList ?? throw new InvalidOperationException("The events were not read by this adapter.");

        // A delta read without a tree: every event it came with is its text (added ones have no source).
        var sources = list.Sources ?? ScannedSources(list);
        if (!_stream)
        {
            EncodeResponse(root, events, sources, removedSlots);
            chunk.MarkTreeModified();
            return true;
        }

        foreach (var output in events)
        {
            if (output.IsAdded)
            {
                continue;
            }

            var removed = output.IsRemoved || removedSlots?.Contains(output.Slot) == true;
            if (!removed && !output.IsModified)
            {
                continue;
            }

            var (source, member) = sources[output];
            var owner = source ?? root;
            if (removed && (member is null or "delta"))
            {
                // A piece of text, a call or the end of a part: its whole event goes.
                Drop(root, owner);
            }
            else if (member is not null)
            {
                owner[member] = removed ? string.Empty : output.Text;
                ClearLogprobs(owner);
            }
        }

        foreach (var output in events)
        {
            if (!output.IsAdded || output.IsRemoved)
            {
                continue;
            }

            if (output.Kind == OutputKind.Finish)
            {
                // A policy ended a part: the answer ends there (the finisher closes it as incomplete).
                Extra(root, ResponsesEvents.After).Add(new JsonObject { ["type"] = ResponsesEvents.Block, [ResponsesEvents.SlotMember] = output.Slot });
                continue;
            }

            if (!output.HasText)
            {
                throw new InvalidOperationException($"A {output.Kind} event cannot be added to a Responses answer.");
            }

            var slot = Slot(output.Slot) ?? throw new InvalidOperationException($"Text was added to slot {output.Slot}, which the answer does not have.");
            RefuseMismatch(slot, output);
            var piece = new JsonObject { ["type"] = slot.DeltaType, [ResponsesEvents.SlotMember] = slot.Slot, ["delta"] = output.Text };

            // Text added where the part ends goes before its end; anywhere else, after the chunk's own event.
            Extra(root, EndsIn(root, events, sources, slot.Slot) ? ResponsesEvents.Before : ResponsesEvents.After).Add(piece);
        }

        var left = root[ResponsesEvents.Dropped] is null || root[ResponsesEvents.Before] is JsonArray { Count: > 0 } || root[ResponsesEvents.After] is JsonArray { Count: > 0 };
        chunk.MarkTreeModified();
        return left;
    }

    /// <summary>
    /// A Responses part carries one kind of text. Text or a refusal added to a message part is written as that part's
    /// kind (as chat writes added text into a choice); anything else added where it does not belong (answer text into a
    /// reasoning part or a call's arguments) is a policy's mistake, refused rather than written into the wrong place.
    /// </summary>
    private static void RefuseMismatch(SlotInfo slot, OutputEvent output)
    {
        var message = output.Kind is OutputKind.Text or OutputKind.Refusal && slot.Kind is OutputKind.Text or OutputKind.Refusal;
        if (output.Kind != slot.Kind && !message)
        {
            throw new InvalidOperationException($"A {output.Kind} event cannot be added to slot {slot.Slot}, a Responses part that carries {slot.Kind}.");
        }
    }

    private static Dictionary<OutputEvent, TextSource> ScannedSources(OutputList list)
    {
        var sources = new Dictionary<OutputEvent, TextSource>();
        foreach (var output in list)
        {
            if (!output.IsAdded)
            {
                sources[output] = new TextSource(null, "delta");
            }
        }

        return sources;
    }

    /// <summary>Whether the chunk's own event ends the slot.</summary>
    private static bool EndsIn(JsonObject root, IReadOnlyList<OutputEvent> events, Dictionary<OutputEvent, TextSource> sources, int slot)
    {
        foreach (var output in events)
        {
            if (output.Kind == OutputKind.Finish && output.Slot == slot && !output.IsAdded && !output.IsRemoved && ReferenceEquals(sources[output].Owner ?? root, root))
            {
                return true;
            }
        }

        return false;
    }

    private static JsonArray Extra(JsonObject root, string name)
    {
        if (root[name] is not JsonArray list)
        {
            root[name] = list = [];
        }

        return list;
    }

    /// <summary>Drops an event: an added one from its list, the chunk's own (or the one its item sits in) by marking it.</summary>
    private static void Drop(JsonObject root, JsonObject owner)
    {
        if (!ReferenceEquals(owner, root) && owner.Parent is JsonArray list && list.Parent is JsonObject parent && ReferenceEquals(parent, root))
        {
            list.Remove(owner);
            return;
        }

        root[ResponsesEvents.Dropped] = true;
    }

    /// <summary>Token log-probabilities spell the text they belong to: once it changed, they go.</summary>
    private static void ClearLogprobs(JsonObject owner)
    {
        if (owner["logprobs"] is JsonArray { Count: > 0 })
        {
            owner["logprobs"] = new JsonArray();
        }
    }

    /// <summary>A buffered answer: text changed in place, removed calls taken out, added text appended, a block made <c>incomplete</c>.</summary>
    private void EncodeResponse(JsonObject root, IReadOnlyList<OutputEvent> events, Dictionary<OutputEvent, TextSource> sources, IReadOnlySet<int>? removedSlots)
    {
        var dropped = new List<JsonObject>();
        SlotInfo? blocked = null;
        foreach (var output in events)
        {
            if (output.Kind == OutputKind.Usage)
            {
                continue;
            }

            var removed = output.IsRemoved || removedSlots?.Contains(output.Slot) == true;
            if (output.IsAdded)
            {
                if (removed)
                {
                    continue;
                }

                var slot = Slot(output.Slot) ?? throw new InvalidOperationException($"An event was added to slot {output.Slot}, which the answer does not have.");
                if (output.Kind == OutputKind.Finish)
                {
                    blocked = blocked is null || slot.Key.OutputIndex < blocked.Key.OutputIndex ? slot : blocked;
                    continue;
                }

                RefuseMismatch(slot, output);
                if (slot.Location is not { } location || location.Member is not { } name)
                {
                    throw new InvalidOperationException($"Text was added to slot {output.Slot}, which has no text to add it to.");
                }

                var at = location.Owner ?? root;
                at[name] = (ResponsesEvents.OptionalString(at, name, "a part") ?? string.Empty) + output.Text;
                ClearLogprobs(at);
                continue;
            }

            if (!removed && !output.IsModified)
            {
                continue;
            }

            var (source, member) = sources[output];
            var owner = source ?? root;
            if (output.Kind == OutputKind.ToolCall && removed)
            {
                dropped.Add(owner);
            }
            else if (member is not null)
            {
                owner[member] = removed ? string.Empty : output.Text;
                ClearLogprobs(owner);
            }
        }

        if (root["output"] is not JsonArray items)
        {
            return;
        }

        if (blocked is not null)
        {
            Block(root, items, blocked, dropped);
        }

        foreach (var item in dropped)
        {
            items.Remove(item);
        }
    }

    /// <summary>Ends a buffered answer at a blocked part: what follows it goes, and the answer is incomplete for content_filter.</summary>
    private static void Block(JsonObject root, JsonArray items, SlotInfo blocked, List<JsonObject> dropped)
    {
        root["status"] = "incomplete";
        root["incomplete_details"] = new JsonObject { ["reason"] = OutputEvent.ContentFilter };
        var index = blocked.Key.OutputIndex;
        for (var i = index + 1; i < items.Count; i++)
        {
            if (items[i] is JsonObject later)
            {
                dropped.Add(later);
            }
        }

        if (index >= items.Count || items[index] is not JsonObject item)
        {
            return;
        }

        if (blocked.Key.Family == PartFamily.Call)
        {
            // A call that was ended is not shown: a client could run it.
            dropped.Add(item);
            return;
        }

        item["status"] = "incomplete";
        var list = item[blocked.Key.Family == PartFamily.Summary ? "summary" : "content"] as JsonArray;
        while (list is not null && list.Count > blocked.Key.Index + 1)
        {
            list.RemoveAt(list.Count - 1);
        }
    }
}
