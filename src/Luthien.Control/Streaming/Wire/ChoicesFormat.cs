using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// What the chat and legacy completions adapters share: an answer whose slots are the entries of a <c>choices</c> array
/// (each read by the API's own <see cref="ReadChoice"/>), usage named <c>prompt_tokens</c> / <c>completion_tokens</c>,
/// and chunks the library makes carrying the id, created and model of the stream's first chunk with choices.
/// </summary>
internal abstract class ChoicesFormat : WireFormat
{
    private byte[]? _template;

    /// <summary>Creates the adapter for one answer.</summary>
    /// <param name="stream">A stream of chunks rather than one buffered answer.</param>
    protected ChoicesFormat(bool stream) => IsStream = stream;

    /// <summary>Whether the answer is a stream of chunks rather than one buffered answer.</summary>
    protected bool IsStream { get; }

    /// <inheritdoc />
    public override StreamChunk CreateChunk()
    {
        JsonObject chunk;
        if (!IsStream)
        {
            // Events added to it are moved into the buffered answer.
            chunk = [];
        }
        else
        {
            chunk = Head(_template is null ? null : JsonNode.Parse(_template) as JsonObject);
            chunk["choices"] = new JsonArray();
        }

        var created = StreamChunk.FromJson(chunk);
        created.Format = this;
        return created;
    }

    /// <summary>Keeps the first chunk of the stream that has choices, for the head of chunks the library makes.</summary>
    protected void RememberHead(StreamChunk chunk) => _template ??= chunk.Data.ToArray();

    /// <summary>The head of a chunk the library makes (<c>id</c>, <c>object</c>, <c>created</c>, <c>model</c>), from a chunk of the stream if there is one.</summary>
    protected abstract JsonObject Head(JsonObject? template);

    /// <summary>Reads one choice's events (its slot read and checked).</summary>
    protected abstract void ReadChoice(JsonObject choice, int slot, List<OutputEvent> events);

    /// <summary>
    /// Reads a chunk (or buffered answer) from its JSON tree: every choice once (one named twice is refused: each entry
    /// must be judged on its own, and a client appends both), then its usage.
    /// </summary>
    protected OutputList DecodeTree(StreamChunk chunk, OutputList events)
    {
        events.Clear();
        var json = chunk.Tree ?? throw BackendException.InvalidResponse("a streamed event is not a readable JSON object.");
        if (json["choices"] is { } anyChoices)
        {
            if (anyChoices is not JsonArray choices)
            {
                throw BackendException.InvalidResponse("'choices' is not an array.");
            }

            if (IsStream && choices.Count > 0)
            {
                RememberHead(chunk);
            }

            var seen = new HashSet<int>();
            foreach (var node in choices)
            {
                var choice = node as JsonObject ?? throw BackendException.InvalidResponse("a choice is not an object.");
                var slot = ChatChunks.IndexOf(choice);
                if (!seen.Add(slot))
                {
                    throw BackendException.InvalidResponse("a chunk names the same choice twice.");
                }

                ReadChoice(choice, slot, events);
            }
        }

        if (json["usage"] is JsonObject usage)
        {
            events.Add(UsageEvent(usage, "prompt_tokens", "completion_tokens"));
        }

        return events;
    }
}
