using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// The legacy completions adapter: a <c>text_completion</c> answer, streamed or buffered (OpenAI names both
/// <c>"object":"text_completion"</c>), to <see cref="OutputEvent"/>s and back. A slot is a choice; its <c>text</c> is a
/// text event, its <c>finish_reason</c> a finish, the answer's <c>usage</c> a usage event. A streamed chunk that carries
/// only text and finish reasons is read without a JSON tree; what the events do not cover (ids, vendor fields) stays as
/// it came, and an untouched chunk keeps its bytes.
/// </summary>
/// <remarks>
/// A choice's <c>logprobs</c> (<c>tokens</c>, <c>top_logprobs</c>, <c>text_offset</c>) spell out the very text a policy
/// may change: once a policy changed, removed or added to a choice's text in a chunk (or the buffered answer), that
/// choice's <c>logprobs</c> there go out as <c>null</c>, never with the tokens of the text that was replaced. Text a
/// policy adds has no tokens of its own, and offsets into a changed text point nowhere, so nothing partial is kept.
/// </remarks>
internal sealed class CompletionsFormat : ChoicesFormat
{
    private readonly List<int> _indices = [];

    /// <summary>Creates the adapter for one answer.</summary>
    /// <param name="stream">A stream of chunks rather than one buffered answer.</param>
    public CompletionsFormat(bool stream)
        : base(stream)
    {
    }

    /// <inheritdoc />
    public override OutputList Decode(StreamChunk chunk)
    {
        var events = new OutputList();
        if (IsStream && !chunk.IsModified && TryScan(chunk.Data.Span, events, out var hasChoices))
        {
            // The common chunk: text and finish reasons only, read without building a tree.
            if (hasChoices)
            {
                RememberHead(chunk);
            }

            return events;
        }

        // What a scan that gave up read is dropped: the tree reads the chunk again.
        return DecodeTree(chunk, events);
    }

    /// <inheritdoc />
    public override bool Encode(StreamChunk chunk, IReadOnlyList<OutputEvent> events, IReadOnlySet<int>? removedSlots)
    {
        var json = chunk.Tree ?? throw BackendException.InvalidResponse("a streamed event is not a readable JSON object.");
        var choices = ChatChunks.ChoicesToWrite(json, removedSlots, out var originalCount);

        var touched = new List<JsonObject>();
        HashSet<int>? textChanged = null;
        foreach (var output in events)
        {
            if (output.IsAdded || (!output.IsModified && !output.IsRemoved) || removedSlots?.Contains(output.Slot) == true ||
                ChatChunks.Find(choices, output.Slot) is not { } entry)
            {
                continue;
            }

            if (output.Kind == OutputKind.Text)
            {
                entry["text"] = output.IsRemoved ? string.Empty : output.Text;
                (textChanged ??= []).Add(output.Slot);
                touched.Add(entry);
            }
            else if (output.Kind == OutputKind.Finish)
            {
                entry["finish_reason"] = null;
                touched.Add(entry);
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
                var entry = ChatChunks.Find(choices, output.Slot) ?? NewEntry(choices, output.Slot);
                entry["finish_reason"] = output.FinishReason;
                touched.Add(entry);
            }
            else if (output.Kind == OutputKind.Text && output.Text.Length > 0)
            {
                // A completion has nothing but text: a refusal, reasoning or transcript a policy made has no place in it.
                var entry = ChatChunks.Find(choices, output.Slot) ?? NewEntry(choices, output.Slot);
                entry["text"] = (entry["text"] is JsonValue v && v.TryGetValue(out string? text) ? text : string.Empty) + output.Text;
                (textChanged ??= []).Add(output.Slot);
                touched.Add(entry);
            }
        }

        if (textChanged is not null)
        {
            foreach (var slot in textChanged)
            {
                // The tokens and offsets of the text that was there would tell what a policy took out (see remarks).
                if (ChatChunks.Find(choices, slot) is { } entry && entry["logprobs"] is not null)
                {
                    entry["logprobs"] = null;
                }
            }
        }

        if (IsStream)
        {
            // An entry the policies emptied says nothing more to the client: it goes (the chunk too, when nothing is left).
            if (!ChatChunks.KeepsSomething(json, choices, touched, Emptied, originalCount, removedSlots))
            {
                return false;
            }
        }

        chunk.MarkTreeModified();
        return true;
    }

    private static readonly Func<JsonObject, bool> Emptied = static entry => entry["text"] is JsonValue v && v.TryGetValue(out string? text) && text.Length == 0;

    /// <inheritdoc />
    protected override void ReadChoice(JsonObject choice, int slot, List<OutputEvent> events)
    {
        if (choice["text"] is { } anyText)
        {
            // Text the policies cannot read as text must not reach a client that shows it anyway.
            var text = anyText is JsonValue value && value.TryGetValue(out string? s) ? s : throw BackendException.InvalidResponse("a choice's text is not a string.");
            events.Add(new OutputEvent(OutputKind.Text, slot, text));
        }

        if (choice["finish_reason"] is JsonValue finish && finish.TryGetValue(out string? reason))
        {
            events.Add(new OutputEvent(OutputKind.Finish, slot, string.Empty, finishReason: reason));
        }
    }

    /// <summary>
    /// The head of a chunk the library writes itself: <c>id</c>, <c>created</c>, <c>model</c> and <c>system_fingerprint</c>
    /// from a chunk of the same stream (made up when there is none yet), so every official client parses it.
    /// </summary>
    protected override JsonObject Head(JsonObject? template)
    {
        var chunk = new JsonObject
        {
            ["id"] = template?["id"]?.DeepClone() ?? "cmpl-luthien",
            ["object"] = "text_completion",
            ["created"] = template?["created"]?.DeepClone() ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = template?["model"]?.DeepClone() ?? string.Empty,
        };
        if (template?["system_fingerprint"] is { } fingerprint)
        {
            chunk["system_fingerprint"] = fingerprint.DeepClone();
        }

        return chunk;
    }

    private static JsonObject NewEntry(JsonArray choices, int slot)
    {
        var entry = new JsonObject { ["text"] = string.Empty, ["index"] = slot, ["logprobs"] = null, ["finish_reason"] = null };
        choices.Add(entry);
        return entry;
    }


    /// <summary>
    /// Reads a chunk's choices (index, text, finish reason) with a forward-only reader. Gives up (false, the tree path then
    /// decides) on anything it does not expect: usage, a field it reads given twice, a second <c>choices</c>, a choice
    /// named twice, text or a finish reason that is not a string, invalid UTF-8 or JSON. What it accepts, the tree path
    /// reads the same way.
    /// </summary>
    private bool TryScan(ReadOnlySpan<byte> json, OutputList events, out bool hasChoices)
    {
        hasChoices = false;
        _indices.Clear();

        // The reader leaves UTF-8 to the strings it reads; the tree path refuses a chunk with invalid bytes anywhere.
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            return false;
        }

        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var seenChoices = false;
            var seenUsage = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    if (seenChoices)
                    {
                        return false;
                    }

                    seenChoices = true;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        return false;
                    }

                    hasChoices = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartObject || !TryReadChoice(ref reader, events, out var index) ||
                            _indices.Contains(index))
                        {
                            // A choice named twice in one chunk goes to the tree path, which refuses it.
                            return false;
                        }

                        _indices.Add(index);
                    }
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    // Usage (tokens) is read from the tree: one chunk per stream carries it. "usage":null is no usage.
                    if (seenUsage)
                    {
                        return false;
                    }

                    seenUsage = true;
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // The object ends, and nothing follows it.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString met text it cannot transcode (an unpaired surrogate escape): the tree path refuses the chunk.
            return false;
        }
    }

    private static bool TryReadChoice(ref Utf8JsonReader reader, OutputList events, out int index)
    {
        index = 0;
        string? text = null;
        string? finish = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("index"u8) ? 1 : reader.ValueTextEquals("text"u8) ? 2 : reader.ValueTextEquals("finish_reason"u8) ? 4 : 0;
            if ((seen & field) != 0)
            {
                // Readers disagree on which copy of a repeated name counts: the tree path refuses it.
                return false;
            }

            seen |= field;
            reader.Read();
            switch (field)
            {
                case 1:
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index) || !ChatChunks.IsIndex(index))
                    {
                        return false;
                    }

                    break;
                case 2 or 4:
                    if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
                    {
                        return false;
                    }

                    var value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    if (field == 2)
                    {
                        text = value;
                    }
                    else
                    {
                        finish = value;
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            return false;
        }

        if (text is not null)
        {
            events.Add(new OutputEvent(OutputKind.Text, index, text));
        }

        if (finish is not null)
        {
            events.Add(new OutputEvent(OutputKind.Finish, index, string.Empty, finishReason: finish));
        }

        return true;
    }
}
