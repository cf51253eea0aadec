namespace Luthien.Control;

/// <summary>
/// Maps one answer's wire format to <see cref="OutputEvent"/>s and back. One instance per answer (it keeps what the
/// answer's chunks repeat); an adapter per API lives with the streaming policies.
/// </summary>
internal abstract class WireFormat
{
    /// <summary>Reads the events of a chunk; an empty list when it carries none (an error, a keep-alive, metadata).</summary>
    /// <exception cref="BackendException">The chunk cannot be read as this format (fail closed).</exception>
    public abstract OutputList Decode(StreamChunk chunk);

    /// <summary>
    /// Writes the changed, removed and added events of a chunk, and its removed slots, into its JSON; returns false when
    /// nothing is left to send.
    /// </summary>
    public abstract bool Encode(StreamChunk chunk, IReadOnlyList<OutputEvent> events, IReadOnlySet<int>? removedSlots);

    /// <summary>An empty chunk of this answer, to add events to.</summary>
    public abstract StreamChunk CreateChunk();

    /// <summary>A usage event from a <c>usage</c> object, with the API's names for input and output tokens.</summary>
    protected static OutputEvent UsageEvent(System.Text.Json.Nodes.JsonObject usage, string input, string output) =>
        new(OutputKind.Usage, -1, string.Empty, inputTokens: Tokens(usage, input), outputTokens: Tokens(usage, output));

    private static long? Tokens(System.Text.Json.Nodes.JsonObject usage, string name) =>
        usage[name] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue(out long tokens) ? tokens : null;

    /// <summary>
    /// Whether a chunk's bytes, as they came, may carry a tool call or a fragment of one: false only when the format can
    /// tell from the bytes alone that they do not (so a policy may pass the chunk unread). Default true: read it.
    /// </summary>
    /// <param name="data">The chunk's data as it came (not changed by a policy).</param>
    public virtual bool MayCarryToolCalls(ReadOnlySpan<byte> data) => true;

    /// <summary>
    /// Lists the tool calls (slot, call) a chunk's bytes carry fragments of, without reading its events, when the format
    /// can tell from the bytes that no fragment carries a piece of a call's name; false otherwise (the caller then reads
    /// the events). Default false.
    /// </summary>
    /// <param name="data">The chunk's data as it came (not changed by a policy).</param>
    /// <param name="calls">Filled with the calls.</param>
    public virtual bool TryListNamelessToolFragments(ReadOnlySpan<byte> data, List<(int Slot, int Call)> calls) => false;
}

/// <summary>A chunk's events, with what else the chunk keeps once they are read (its JSON tree, the slots removed whole).</summary>
internal class OutputList : List<OutputEvent>
{
    public OutputList()
        : base(2)
    {
    }

    /// <summary>The chunk's JSON tree, once parsed.</summary>
    public System.Text.Json.Nodes.JsonObject? Tree { get; set; }

    /// <summary>Slots removed whole from the chunk.</summary>
    public HashSet<int>? RemovedSlots { get; set; }

    /// <summary>For adapters that need it: where in the JSON each event read from it sits.</summary>
    public Dictionary<OutputEvent, TextSource>? Sources { get; set; }
}

/// <summary>Where an event sits in a chunk's JSON: the object that holds it, and the member with its text (if any).</summary>
/// <param name="Owner">The object; <see langword="null"/> for the chunk's own (read without a tree).</param>
/// <param name="Member">The member that holds the event's text, or <see langword="null"/>.</param>
internal readonly record struct TextSource(System.Text.Json.Nodes.JsonObject? Owner, string? Member);
