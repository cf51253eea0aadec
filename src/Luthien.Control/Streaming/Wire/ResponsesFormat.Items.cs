using System.Text.Json.Nodes;
namespace Luthien.Control.Streaming;

// The Responses adapter: output items and their parts read, each piece of text where it is new to the policies.
internal sealed partial class ResponsesFormat
{
    /// <summary>Reads an output item: its tool call, and the text of its parts not yet seen.</summary>
    private void ReadItem(JsonObject item, int index, JsonObject root, OutputList events)
    {
        var type = ResponsesEvents.TypeOf(item);
        switch (type)
        {
            case "message":
            case "reasoning":
                if (item["content"] is { } anyContent)
                {
                    ReadParts(anyContent, index, PartFamily.Content, root, events);
                }

                if (type == "reasoning" && item["summary"] is { } anySummary)
                {
                    ReadParts(anySummary, index, PartFamily.Summary, root, events);
                }

                return;
            case "function_call":
            case "custom_tool_call":
            {
                var custom = type == "custom_tool_call";
                var slot = SlotFor(new PartKey(index, PartFamily.Call, 0), OutputKind.ToolArguments, custom);
                if (slot.Custom != custom)
                {
                    throw BackendException.InvalidResponse($"output {index} changed from one kind of tool call to another.");
                }

                var name = ResponsesEvents.OptionalString(item, "name", "a tool call");
                var id = ResponsesEvents.OptionalString(item, "call_id", "a tool call");
                if (slot.Announced is null || slot.Announced.Is(root))
                {
                    slot.Announced ??= new EventMark(root);
                    slot.CallName = name;
                    slot.CallId = id;
                    Add(events, new OutputEvent(OutputKind.ToolCall, slot.Slot, string.Empty, 0, id, name ?? string.Empty), item, null);
                }
                else if ((name is not null && name != slot.CallName) || (id is not null && id != slot.CallId))
                {
                    // The call was judged under the name it was announced with; a client takes the one the later event
                    // (output_item.done, response.completed) says, and would run a tool no policy judged.
                    throw BackendException.InvalidResponse($"output {index}'s tool call changed its name or call_id after it was announced.");
                }

                var member = slot.DoneMember;
                if (!_stream)
                {
                    slot.Location = new TextSource(item, member);
                }

                if (ResponsesEvents.OptionalString(item, member, "a tool call") is { } arguments)
                {
                    See(slot, arguments, root, item, member, events);
                }

                return;
            }

            case "local_shell_call":
            case "shell_call":
            case "computer_call":
            case "apply_patch_call":
            {
                // A built-in tool the client runs (a shell, a computer, a patch): a tool call like any other, judged under
                // its item type as its name. What it does (its action) is not text the content policy reads.
                var slot = SlotFor(new PartKey(index, PartFamily.Call, 0), OutputKind.ToolArguments, custom: false);
                var id = ResponsesEvents.OptionalString(item, "call_id", "a tool call");
                if (slot.Announced is null || slot.Announced.Is(root))
                {
                    slot.Announced ??= new EventMark(root);
                    slot.CallName = type;
                    slot.CallId = id;
                    Add(events, new OutputEvent(OutputKind.ToolCall, slot.Slot, string.Empty, 0, id, type), item, null);
                }
                else if (type != slot.CallName || (id is not null && id != slot.CallId))
                {
                    throw BackendException.InvalidResponse($"output {index}'s tool call changed its kind or call_id after it was announced.");
                }

                return;
            }
        }
    }

    private void ReadParts(JsonNode anyParts, int index, PartFamily family, JsonObject root, OutputList events)
    {
        var parts = anyParts as JsonArray ?? throw BackendException.InvalidResponse($"output {index}'s parts are not an array.");
        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i] as JsonObject ?? throw BackendException.InvalidResponse($"output {index} has a part that is not an object.");
            ReadPart(part, new PartKey(index, family, i), root, events);
        }
    }

    /// <summary>Reads a part's text if it is new to the policies; returns the part's slot, or null for a part that carries no text kind the adapter knows.</summary>
    private SlotInfo? ReadPart(JsonObject part, PartKey key, JsonObject root, OutputList events)
    {
        var (kind, member) = ResponsesEvents.TypeOf(part) switch
        {
            "output_text" => (OutputKind.Text, "text"),
            "refusal" => (OutputKind.Refusal, "refusal"),
            "summary_text" or "reasoning_text" => (OutputKind.Reasoning, "text"),
            _ => (OutputKind.Usage, null),
        };
        if (member is null)
        {
            return null;
        }

        var slot = SlotFor(key, kind, custom: false);
        if (!_stream)
        {
            slot.Location = new TextSource(part, member);
        }

        if (ResponsesEvents.OptionalString(part, member, "a part") is { } text)
        {
            See(slot, text, root, part, member, events);
        }

        return slot;
    }

    /// <summary>
    /// A part's whole text, in an event that may repeat it: read only where it is new to the policies (no delta or earlier
    /// event carried it), or where it was read before (the same event read again).
    /// </summary>
    private static void See(SlotInfo slot, string text, JsonObject root, JsonObject owner, string member, OutputList events)
    {
        if (text.Length == 0 || (slot.FirstSight is not null && !slot.FirstSight.Is(root)))
        {
            return;
        }

        slot.FirstSight ??= new EventMark(root);
        Add(events, new OutputEvent(slot.Kind, slot.Slot, text), owner, member);
    }

    private static void Finish(SlotInfo slot, JsonObject root, OutputList events)
    {
        if (slot.FinishedAt is not null && !slot.FinishedAt.Is(root))
        {
            return;
        }

        slot.FinishedAt ??= new EventMark(root);
        Add(events, new OutputEvent(OutputKind.Finish, slot.Slot, string.Empty, finishReason: slot.FinishReason), root, null);
    }

    private void FinishItem(int index, JsonObject root, OutputList events)
    {
        foreach (var slot in _slots)
        {
            if (slot.Key.OutputIndex == index)
            {
                Finish(slot, root, events);
            }
        }
    }

    /// <summary>A buffered answer, or the response a stream's last event carries: its items, then its usage.</summary>
    private void DecodeResponse(JsonObject response, JsonObject root, OutputList events)
    {
        if (response["output"] is { } anyOutput)
        {
            var output = anyOutput as JsonArray ?? throw BackendException.InvalidResponse("a response's 'output' is not an array.");
            for (var i = 0; i < output.Count; i++)
            {
                var item = output[i] as JsonObject ?? throw BackendException.InvalidResponse("a response's output item is not an object.");
                ReadItem(item, i, root, events);
            }
        }

        if (response["usage"] is JsonObject usage)
        {
            events.Add(UsageEvent(usage, "input_tokens", "output_tokens"));
        }
    }
}
