using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// The chat completions adapter: a <c>chat.completion.chunk</c> (stream) or a <c>chat.completion</c> (buffered answer) to
/// <see cref="OutputEvent"/>s and back. A slot is a choice. Text-only chunks are read without a JSON tree (the tree is
/// built only when a chunk carries more, or must change); what the events do not cover (role, logprobs, ids, vendor
/// fields) stays in the chunk as it came.
/// </summary>
internal sealed partial class ChatCompletionsFormat : ChoicesFormat
{
    private readonly string _member;
    private readonly Func<JsonObject, bool> _emptied;
    private readonly List<ChoiceDelta> _scratch = [];
    private readonly ChunkShapeCache _shapes = new();
    private readonly ChunkShapeCache _toolShapes = new();
    private HashSet<(int Slot, int Call)>? _customCalls;

    /// <summary>Creates the adapter for one answer.</summary>
    /// <param name="stream">A stream of chunks (<c>delta</c>) rather than a buffered answer (<c>message</c>).</param>
    public ChatCompletionsFormat(bool stream)
        : base(stream)
    {
        _member = stream ? "delta" : "message";
        _emptied = entry => entry[_member] is JsonObject { Count: 0 };
    }

    /// <inheritdoc />
    public override OutputList Decode(StreamChunk chunk)
    {
        var events = new OutputList();
        if (IsStream && !chunk.IsModified && ChoiceScanner.TryScan(chunk.Data.Span, _scratch, _shapes, out var hasChoices, chunk.KnownText) && TextOnly(_scratch))
        {
            // The common chunk: text and finish reasons only, read without building a tree.
            if (hasChoices)
            {
                RememberHead(chunk);
            }

            RefuseRepeatedIndex(_scratch);
            foreach (var choice in _scratch)
            {
                if (choice.Content is { } content)
                {
                    events.Add(new OutputEvent(OutputKind.Text, choice.Index, content));
                }

                if (choice.FinishReason is { } reason)
                {
                    events.Add(new OutputEvent(OutputKind.Finish, choice.Index, string.Empty, finishReason: reason));
                }
            }

            // Usage (tokens) is read from the tree, whichever chunk carries it: the usage chunk, or a text chunk some
            // backends put it on. OpenAI's "usage":null on every chunk is no usage, and is not worth a tree.
            var data = chunk.Data.Span;
            if (data.IndexOf("\"usage\""u8) >= 0 && !data.EndsWith(",\"usage\":null}"u8))
            {
                return DecodeTree(chunk, events);
            }

            return events;
        }

        return DecodeTree(chunk, events);
    }

    /// <inheritdoc />
    public override bool Encode(StreamChunk chunk, IReadOnlyList<OutputEvent> events, IReadOnlySet<int>? removedSlots)
    {
        var json = chunk.Tree ?? throw BackendException.InvalidResponse("a streamed event is not a readable JSON object.");
        var choices = ChatChunks.ChoicesToWrite(json, removedSlots, out var originalCount);

        // Last to first: removing a buffered message's tool call shifts the positions of the calls after it, not before.
        var touched = new List<JsonObject>();
        for (var i = events.Count - 1; i >= 0; i--)
        {
            var output = events[i];
            if (output.IsAdded || (!output.IsModified && !output.IsRemoved) || removedSlots?.Contains(output.Slot) == true)
            {
                continue;
            }

            if (ChatChunks.Find(choices, output.Slot) is { } entry)
            {
                WriteBack(entry, output);
                touched.Add(entry);
            }
        }

        foreach (var output in events)
        {
            if (output.IsAdded && !output.IsRemoved)
            {
                var entry = ChatChunks.Find(choices, output.Slot) ?? NewEntry(choices, output.Slot);
                Append(entry, output);
                touched.Add(entry);
            }
        }

        ForgetWhatRepeatsChangedText(choices, events, removedSlots);
        if (IsStream)
        {
            // An entry the policies emptied says nothing more to the client: it goes (the chunk too, when nothing is left).
            if (!ChatChunks.KeepsSomething(json, choices, touched, _emptied, originalCount, removedSlots))
            {
                return false;
            }
        }

        chunk.MarkTreeModified();
        return true;
    }

    /// <summary>
    /// Chat names calls in <c>tool_calls</c> or a legacy <c>function_call</c>. A chunk with a <c>\u</c> escape is read
    /// too: <c>"tool\u005fcalls"</c> is <c>tool_calls</c> to a client, and invisible to a byte search.
    /// </summary>
    public override bool MayCarryToolCalls(ReadOnlySpan<byte> data) =>
        data.IndexOf("\"tool_calls\""u8) >= 0 || data.IndexOf("\"function_call\""u8) >= 0 || data.IndexOf("\\u"u8) >= 0;

    /// <inheritdoc />
    public override bool TryListNamelessToolFragments(ReadOnlySpan<byte> data, List<(int Slot, int Call)> calls) =>
        IsStream && data.IndexOf("\"name\""u8) < 0 && data.IndexOf("\\u"u8) < 0 && ChoiceScanner.TryScanToolCalls(data, calls, _toolShapes);

    private static bool TextOnly(List<ChoiceDelta> choices)
    {
        foreach (var choice in choices)
        {
            if (choice.DeltaHasOtherFields)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    protected override JsonObject Head(JsonObject? template) => ChatChunks.Head(template);

    /// <inheritdoc />
    protected override void ReadChoice(JsonObject choice, int slot, List<OutputEvent> events)
    {
        if (choice[_member] is { } anyMessage)
        {
            var message = anyMessage as JsonObject ?? throw BackendException.InvalidResponse($"a choice's {_member} is not an object.");
            if (message["content"] is JsonArray parts)
            {
                AddTextParts(parts, slot, events);
            }
            else
            {
                AddText(message, "content", OutputKind.Text, slot, events);
            }

            AddText(message, "refusal", OutputKind.Refusal, slot, events);
            AddText(message, "reasoning_content", OutputKind.Reasoning, slot, events);
            if (message["audio"] is JsonObject audio)
            {
                AddText(audio, "transcript", OutputKind.AudioTranscript, slot, events);
            }

            if (message["tool_calls"] is { } anyCalls)
            {
                var calls = anyCalls as JsonArray ?? throw BackendException.InvalidResponse("a message's tool_calls is not an array.");
                var seenCalls = new HashSet<int>();
                for (var i = 0; i < calls.Count; i++)
                {
                    var call = calls[i] as JsonObject ?? throw BackendException.InvalidResponse("a tool call is not an object.");

                    // A buffered message lists its calls without an index: their position is their index.
                    var index = IsStream ? ChatChunks.IntegerIndex(call, "a tool call") : i;
                    if (!seenCalls.Add(index))
                    {
                        throw BackendException.InvalidResponse("a chunk names the same tool call twice.");
                    }

                    ReadCall(call, CallBody(call), slot, index, events);
                    if (IsStream && call["custom"] is not null)
                    {
                        // Arguments a policy adds to this call later go in its "input".
                        (_customCalls ??= []).Add((slot, index));
                    }
                }
            }

            if (message["function_call"] is { } functionCall)
            {
                ReadCall(null, functionCall, slot, -1, events);
            }
        }

        if (choice["finish_reason"] is JsonValue finish && finish.TryGetValue(out string? reason))
        {
            events.Add(new OutputEvent(OutputKind.Finish, slot, string.Empty, finishReason: reason));
        }
    }

    /// <summary>
    /// What a tool call calls: its <c>function</c>, or for a custom tool its <c>custom</c> (name and <c>input</c>). One that
    /// names both is refused: a client could run either.
    /// </summary>
    private static JsonNode? CallBody(JsonObject call)
    {
        var function = call["function"];
        var custom = call["custom"];
        if (function is not null && custom is not null)
        {
            throw BackendException.InvalidResponse("a tool call is both a function and a custom tool call.");
        }

        return function ?? custom;
    }

    /// <summary>The member holding a call's arguments: <c>input</c> for a custom tool, else <c>arguments</c>.</summary>
    private static string ArgumentsName(JsonObject body) => body.Parent is JsonObject call && ReferenceEquals(call["custom"], body) ? "input" : "arguments";

    private static void ReadCall(JsonObject? call, JsonNode? anyFunction, int slot, int index, List<OutputEvent> events)
    {
        if (anyFunction is not null and not JsonObject)
        {
            throw BackendException.InvalidResponse("a tool call's function is not an object.");
        }

        var function = anyFunction as JsonObject;
        string? name = null;
        if (function is not null && function.TryGetPropertyValue("name", out var anyName) && anyName is not null)
        {
            name = anyName is JsonValue v && v.TryGetValue(out string? s) ? s : throw BackendException.InvalidResponse("a tool call's name is not a string.");
        }

        var id = call?["id"] is JsonValue idValue && idValue.TryGetValue(out string? callId) ? callId : null;
        if (name is not null || id is not null)
        {
            events.Add(new OutputEvent(OutputKind.ToolCall, slot, string.Empty, index, id, name ?? string.Empty));
        }

        if (function?[ArgumentsName(function)] is JsonValue args && args.TryGetValue(out string? arguments))
        {
            events.Add(new OutputEvent(OutputKind.ToolArguments, slot, arguments, index));
        }
    }

    /// <summary>
    /// Content given as parts: each part's <c>text</c> is a text event of its own, in order, and a refusal part's
    /// <c>refusal</c> (<c>{"type":"refusal","refusal":…}</c>, which clients show as the refusal) a refusal event.
    /// </summary>
    private static void AddTextParts(JsonArray parts, int slot, List<OutputEvent> events)
    {
        for (var i = 0; i < parts.Count; i++)
        {
            if (parts[i] is not JsonObject part)
            {
                continue;
            }

            var text = part["text"];
            var refusal = part["refusal"];
            if (text is not null && refusal is not null)
            {
                // One part, two texts: a client may show either, and the part is written back (or dropped) as one.
                throw BackendException.InvalidResponse("a content part carries both text and a refusal.");
            }

            if ((text ?? refusal) is { } node)
            {
                var value = node is JsonValue v && v.TryGetValue(out string? s) ? s : throw BackendException.InvalidResponse("a content part's text is not a string.");
                events.Add(new OutputEvent(text is not null ? OutputKind.Text : OutputKind.Refusal, slot, value) { Part = i });
            }
        }
    }

    /// <summary>
    /// A text field's event; a field that is there but neither a string nor null is refused: a client may show it anyway
    /// (a number, as digits), and the policies would not have read it.
    /// </summary>
    private static void AddText(JsonObject owner, string name, OutputKind kind, int slot, List<OutputEvent> events)
    {
        if (owner[name] is not { } node)
        {
            return;
        }

        var text = node is JsonValue value && value.TryGetValue(out string? s) ? s : throw BackendException.InvalidResponse($"a message's {name} is not a string.");
        events.Add(new OutputEvent(kind, slot, text));
    }

    /// <summary>A chunk that names one choice twice is refused: each entry must be judged on its own, and a client appends both.</summary>
    private static void RefuseRepeatedIndex(List<ChoiceDelta> choices)
    {
        for (var i = 1; i < choices.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (choices[i].Index == choices[j].Index)
                {
                    throw BackendException.InvalidResponse("a streamed chunk names the same choice twice.");
                }
            }
        }
    }
}
