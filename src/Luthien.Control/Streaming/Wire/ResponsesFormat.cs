using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// The Responses API adapter: a stream's typed events (<c>response.output_text.delta</c>, …) or a buffered
/// <c>response</c> object to <see cref="OutputEvent"/>s and back.
/// </summary>
/// <remarks>
/// <para>
/// A slot is one text-bearing part of the answer: a message's <c>output_text</c> or <c>refusal</c> part, a reasoning
/// item's summary or reasoning-text part, or a tool call (its arguments, or a custom tool's input). Slots are numbered
/// as the parts appear; each ends (<see cref="OutputKind.Finish"/>) where its text is done, so a policy that holds text
/// back lets it out before the event that repeats the part's whole text. The answer is one: ending any slot ends it
/// (the stream closes <c>incomplete</c>, reason <c>content_filter</c>).
/// </para>
/// <para>
/// Policies see each piece of text once, where it first arrives (the deltas; a part's whole text only if no delta
/// carried it). The events that repeat text (<c>*.done</c>, <c>response.content_part.done</c>,
/// <c>response.output_item.done</c>, <c>response.completed</c>) are made to say what the deltas said after the policies
/// by <see cref="ResponsesStreamFinisher"/>, which also writes what policies added and removed as whole events.
/// </para>
/// </remarks>
internal sealed partial class ResponsesFormat : WireFormat
{
    private readonly bool _stream;
    private readonly Dictionary<PartKey, SlotInfo> _byKey = [];
    private readonly List<SlotInfo> _slots = [];

    /// <summary>The <c>response.output_item.added</c> event of each output index seen (read again, it is the same item).</summary>
    private readonly Dictionary<int, EventMark> _added = [];

    /// <summary>
    /// The most parts (slots), and the most items, one answer may have: far above what a model gives (a few per item, a
    /// few hundred items for a long research answer), and a bound on the state the adapter and every policy keep per part
    /// when a backend names ever new ones.
    /// </summary>
    public const int MaxSlots = 4096;

    /// <summary>Creates the adapter for one answer.</summary>
    /// <param name="stream">A stream of events rather than a buffered <c>response</c> object.</param>
    public ResponsesFormat(bool stream) => _stream = stream;

    /// <summary>What the adapter knows of a slot it made.</summary>
    public SlotInfo? Slot(int slot) => slot >= 0 && slot < _slots.Count ? _slots[slot] : null;

    /// <summary>The slot of a part, if it was seen.</summary>
    public SlotInfo? Slot(PartKey key) => _byKey.GetValueOrDefault(key);

    /// <inheritdoc />
    public override OutputList Decode(StreamChunk chunk)
    {
        if (_stream && !chunk.IsModified && TryDecodeDelta(chunk) is { } scanned)
        {
            return scanned;
        }

        var json = chunk.Tree ?? throw BackendException.InvalidResponse("a Responses event is not a readable JSON object.");
        var events = new OutputList { Sources = [] };
        if (!_stream)
        {
            DecodeResponse(json, json, events);
            foreach (var slot in _slots)
            {
                Finish(slot, json, events);
            }

            return events;
        }

        if (json[ResponsesEvents.Before] is JsonArray before)
        {
            foreach (var node in before)
            {
                DecodeEvent(node as JsonObject ?? throw new InvalidOperationException("An added event is not an object."), events);
            }
        }

        if (json[ResponsesEvents.Dropped] is null)
        {
            DecodeEvent(json, events);
        }

        if (json[ResponsesEvents.After] is JsonArray after)
        {
            foreach (var node in after)
            {
                DecodeEvent(node as JsonObject ?? throw new InvalidOperationException("An added event is not an object."), events);
            }
        }

        return events;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A call starts with its item (<c>"type":"function_call"</c>, <c>"custom_tool_call"</c>, or a built-in tool the client
    /// runs, all of whose types end in <c>_call</c>); the events of its arguments
    /// only matter to a policy already holding or judging it. A chunk with a <c>\u</c> escape is always read.
    /// </remarks>
    public override bool MayCarryToolCalls(ReadOnlySpan<byte> data) =>
        data.IndexOf("_call\""u8) >= 0 || data.IndexOf("\\u"u8) >= 0;

    /// <inheritdoc />
    public override StreamChunk CreateChunk()
    {
        var chunk = StreamChunk.FromJson(_stream ? new JsonObject { ["type"] = ResponsesEvents.None } : []);
        chunk.Format = this;
        return chunk;
    }

    /// <summary>Marks a part whose text arrived in deltas (no event object repeats it as its first sight).</summary>
    private static readonly JsonObject DeltaSightEvent = [];

    /// <summary>See <see cref="DeltaSightEvent"/>: the mark itself (the event it marks stays alive with it).</summary>
    private static readonly EventMark DeltaSight = new(DeltaSightEvent);

    /// <summary>The common event, a piece of a part's text, read without a tree.</summary>
    private ResponsesEventList? TryDecodeDelta(StreamChunk chunk)
    {
        // No map of where events sit: the one event is the delta's own text.
        var events = new ResponsesEventList();
        if (!ResponsesEventScanner.TryScan(chunk.Data.Span, events))
        {
            return null;
        }

        var piece = events.Piece;
        if (piece.Family != PartFamily.Call && (events.Part < 0 || events.PartIsSummary != (piece.Family == PartFamily.Summary)))
        {
            return null;
        }

        var slot = SlotFor(new PartKey(events.OutputIndex, piece.Family, piece.Family == PartFamily.Call ? 0 : events.Part), piece.Kind, piece.Custom);
        RefuseTextAfterEnd(slot);
        slot.FirstSight ??= DeltaSight;
        Add(events, new OutputEvent(slot.Kind, slot.Slot, events.Delta!), null, "delta");
        return events;
    }

    private void DecodeEvent(JsonObject json, OutputList events)
    {
        var type = ResponsesEvents.TypeOf(json) ?? throw BackendException.InvalidResponse("a Responses event has no 'type'.");
        switch (type)
        {
            case ResponsesEvents.None:
                return;
            case ResponsesEvents.Block:
                var blocked = ResponsesEvents.RequireInt(json, ResponsesEvents.SlotMember, type);
                Add(events, new OutputEvent(OutputKind.Finish, blocked, string.Empty, finishReason: OutputEvent.ContentFilter), json, null);
                return;
            case "response.output_item.added":
            case "response.output_item.done":
            {
                var index = ResponsesEvents.RequireInt(json, "output_index", type);
                var item = json["item"] as JsonObject ?? throw BackendException.InvalidResponse($"a '{type}' event has no item.");
                if (type == "response.output_item.added" && _added.Count >= MaxSlots && !_added.ContainsKey(index))
                {
                    throw BackendException.InvalidResponse("it has more items than a policed answer may have.");
                }

                if (type == "response.output_item.added" && !_added.TryAdd(index, new EventMark(json)) && !_added[index].Is(json))
                {
                    // A second item under one output_index would be shown as an item of its own, its text (a call's
                    // arguments) taken for a repeat of the first's and never read.
                    throw BackendException.InvalidResponse($"output {index} was added twice.");
                }

                ReadItem(item, index, json, events);
                if (type == "response.output_item.done")
                {
                    FinishItem(index, json, events);
                }

                return;
            }

            case "response.content_part.added":
            case "response.content_part.done":
            case "response.reasoning_summary_part.added":
            case "response.reasoning_summary_part.done":
            {
                var summary = type.StartsWith("response.reasoning_summary", StringComparison.Ordinal);
                var index = ResponsesEvents.RequireInt(json, "output_index", type);
                var part = ResponsesEvents.RequireInt(json, summary ? "summary_index" : "content_index", type);
                var body = json["part"] as JsonObject ?? throw BackendException.InvalidResponse($"a '{type}' event has no part.");
                var key = new PartKey(index, summary ? PartFamily.Summary : PartFamily.Content, part);
                if (ReadPart(body, key, json, events) is { } slot && type.EndsWith(".done", StringComparison.Ordinal))
                {
                    Finish(slot, json, events);
                }

                return;
            }

            case "response.completed":
            case "response.incomplete":
            case "response.failed":
            {
                if (json["response"] is JsonObject response)
                {
                    DecodeResponse(response, json, events);
                }

                // Whatever was not said to end has ended: held text is let out (or not) before the last event.
                foreach (var slot in _slots)
                {
                    Finish(slot, json, events);
                }

                return;
            }
        }

        if (PieceOf(type) is { } piece)
        {
            var slot = json[ResponsesEvents.SlotMember] is not null
                ? Slot(ResponsesEvents.RequireInt(json, ResponsesEvents.SlotMember, type)) ?? throw new InvalidOperationException("Text was added to a slot the answer does not have.")
                : SlotOf(json, type, piece.Family, piece.Kind, piece.Custom);
            var member = piece.Done ? slot.DoneMember : "delta";
            var text = ResponsesEvents.OptionalString(json, member, $"a '{type}' event") ?? (piece.Done ? null : throw BackendException.InvalidResponse($"a '{type}' event has no '{member}'."));
            if (!piece.Done)
            {
                // Every delta is new text; the backend's own after its part ended is refused (a policy's released text
                // before an end it precedes is not).
                if (json[ResponsesEvents.SlotMember] is null)
                {
                    RefuseTextAfterEnd(slot);
                }

                slot.FirstSight ??= DeltaSight;
                Add(events, new OutputEvent(slot.Kind, slot.Slot, text!), json, member);
                return;
            }

            if (text is not null)
            {
                See(slot, text, json, json, member, events);
            }

            Finish(slot, json, events);
        }
    }

    /// <summary>
    /// Refuses a delta of a part whose end was read: policies judged the part whole there (a call on its complete
    /// arguments, say), yet the finisher would add the delta to what every later repeat of the part says, so a client
    /// taking the call from <c>response.completed</c> would run arguments no policy saw whole.
    /// </summary>
    private static void RefuseTextAfterEnd(SlotInfo slot)
    {
        if (slot.FinishedAt is not null)
        {
            throw BackendException.InvalidResponse($"output {slot.Key.OutputIndex} sent more text after its part ended.");
        }
    }

    /// <summary>A delta or done event of a part's text: which part, what it carries, and whether it ends it.</summary>
    private static (PartFamily Family, OutputKind Kind, bool Custom, bool Done)? PieceOf(string type) => type switch
    {
        "response.output_text.delta" => (PartFamily.Content, OutputKind.Text, false, false),
        "response.output_text.done" => (PartFamily.Content, OutputKind.Text, false, true),
        "response.refusal.delta" => (PartFamily.Content, OutputKind.Refusal, false, false),
        "response.refusal.done" => (PartFamily.Content, OutputKind.Refusal, false, true),
        "response.reasoning_text.delta" => (PartFamily.Content, OutputKind.Reasoning, false, false),
        "response.reasoning_text.done" => (PartFamily.Content, OutputKind.Reasoning, false, true),
        "response.reasoning_summary_text.delta" => (PartFamily.Summary, OutputKind.Reasoning, false, false),
        "response.reasoning_summary_text.done" => (PartFamily.Summary, OutputKind.Reasoning, false, true),
        "response.function_call_arguments.delta" => (PartFamily.Call, OutputKind.ToolArguments, false, false),
        "response.function_call_arguments.done" => (PartFamily.Call, OutputKind.ToolArguments, false, true),
        "response.custom_tool_call_input.delta" => (PartFamily.Call, OutputKind.ToolArguments, true, false),
        "response.custom_tool_call_input.done" => (PartFamily.Call, OutputKind.ToolArguments, true, true),
        _ => null,
    };

    private SlotInfo SlotOf(JsonObject json, string type, PartFamily family, OutputKind kind, bool custom)
    {
        var index = ResponsesEvents.RequireInt(json, "output_index", type);
        var part = family switch
        {
            PartFamily.Summary => ResponsesEvents.RequireInt(json, "summary_index", type),
            PartFamily.Content => ResponsesEvents.RequireInt(json, "content_index", type),
            _ => 0,
        };
        return SlotFor(new PartKey(index, family, part), kind, custom);
    }

    private SlotInfo SlotFor(PartKey key, OutputKind kind, bool custom)
    {
        if (_byKey.TryGetValue(key, out var slot))
        {
            if (slot.Kind != kind)
            {
                // A part that said it was text and now carries a refusal (or the reverse) would be judged by the wrong rules.
                throw BackendException.InvalidResponse($"output {key.OutputIndex} part {key.Index} changed what it carries ({slot.Kind} to {kind}).");
            }

            return slot;
        }

        if (_slots.Count >= MaxSlots)
        {
            throw BackendException.InvalidResponse("it has more parts than a policed answer may have.");
        }

        slot = new SlotInfo(_slots.Count, key, kind, custom);
        _slots.Add(slot);
        _byKey[key] = slot;
        return slot;
    }

    private static void Add(OutputList events, OutputEvent output, JsonObject? owner, string? member)
    {
        events.Add(output);
        if (events.Sources is { } sources)
        {
            sources[output] = new TextSource(owner, member);
        }
    }
}
