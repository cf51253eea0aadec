namespace Luthien.Control;

/// <summary>
/// One thing the model said, in an API-neutral form: a piece of text, refusal, reasoning or transcript, a tool call or a
/// fragment of its arguments, the end of a slot, or usage. A slot is one run of output that ends on its own: a choice
/// (chat completions, legacy completions: the answers the model gives side by side), or one text-bearing part of the
/// answer (Responses API: a message's text or refusal part, a reasoning part, a tool call), numbered as the parts
/// appear. Response policies read and change these instead of the wire format, so one policy serves every API, streamed
/// or buffered.
/// </summary>
/// <remarks>
/// Events belong to a <see cref="StreamChunk"/> (<see cref="StreamChunk.Output"/>). Changing <see cref="Text"/> or
/// calling <see cref="Remove"/> changes what the client receives; the wire adapter writes the change back in the
/// answer's own format, and a chunk none of whose events changed goes out byte for byte as it came.
/// </remarks>
/// <example>
/// <code>
/// foreach (var output in chunk.Output)
/// {
///     if (output.Kind == OutputKind.Text)
///         output.Text = output.Text.ToUpperInvariant();
/// }
/// context.Emit(chunk);
/// </code>
/// </example>
public sealed class OutputEvent
{
    /// <summary>The <see cref="FinishReason"/> of a slot a policy ended.</summary>
    public const string ContentFilter = "content_filter";

    private string _text;

    // What only tool calls, ends and usage carry lives apart, so that a text event (most events) stays small.
    private readonly Detail? _detail;

    internal OutputEvent(OutputKind kind, int slot, string text, int toolIndex = 0, string? toolCallId = null, string? toolName = null, string? finishReason = null, long? inputTokens = null, long? outputTokens = null)
    {
        Kind = kind;
        Slot = slot;
        _text = text;
        ToolIndex = toolIndex;
        if (toolCallId is not null || toolName is not null || finishReason is not null || inputTokens is not null || outputTokens is not null)
        {
            _detail = new Detail(toolCallId, toolName, finishReason, inputTokens, outputTokens);
        }
    }

    /// <summary>What the event carries.</summary>
    public OutputKind Kind { get; }

    /// <summary>
    /// The slot: the choice index (chat, legacy completions), or the part's number in the order the parts appeared
    /// (Responses API, whose answer is one: ending any of its slots ends it).
    /// </summary>
    public int Slot { get; }

    /// <summary>
    /// The text of a text-bearing event (<see cref="OutputKind.Text"/>, <see cref="OutputKind.Refusal"/>,
    /// <see cref="OutputKind.Reasoning"/>, <see cref="OutputKind.AudioTranscript"/>, <see cref="OutputKind.ToolArguments"/>);
    /// empty for the others. In a stream it is this chunk's piece only. Setting it replaces what the client receives;
    /// an empty text sends nothing of it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on an event that carries no text.</exception>
    public string Text
    {
        get => _text;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!HasText)
            {
                throw new InvalidOperationException($"A {Kind} event carries no text.");
            }

            if (!string.Equals(_text, value, StringComparison.Ordinal))
            {
                _text = value;
                IsModified = true;
            }
        }
    }

    /// <summary>Whether the event carries text (see <see cref="Text"/>).</summary>
    public bool HasText => Kind is OutputKind.Text or OutputKind.Refusal or OutputKind.Reasoning or OutputKind.AudioTranscript or OutputKind.ToolArguments;

    /// <summary>For tool events: which call of the slot (the order the model made them in).</summary>
    public int ToolIndex { get; }

    /// <summary>For <see cref="OutputKind.ToolCall"/>: the call's id, if this event carries it.</summary>
    public string? ToolCallId => _detail?.ToolCallId;

    /// <summary>
    /// For <see cref="OutputKind.ToolCall"/>: the tool's name, or in a stream the piece of it this chunk carries (most
    /// backends send it whole, in the call's first fragment; empty when the fragment carries none).
    /// </summary>
    public string? ToolName => _detail?.ToolName;

    /// <summary>
    /// For <see cref="OutputKind.Finish"/>: why the slot ended, in chat completions' words (<c>stop</c>, <c>length</c>,
    /// <c>tool_calls</c>, <c>content_filter</c>); adapters of other APIs map theirs onto these. <see langword="null"/> where
    /// the API gives none (the end of a Responses reasoning part, which ends no answer).
    /// </summary>
    public string? FinishReason => _detail?.FinishReason;

    /// <summary>For <see cref="OutputKind.Usage"/>: the input (prompt) tokens the backend reports, if it does.</summary>
    public long? InputTokens => _detail?.InputTokens;

    /// <summary>For <see cref="OutputKind.Usage"/>: the output (completion) tokens the backend reports, if it does.</summary>
    public long? OutputTokens => _detail?.OutputTokens;

    /// <summary>
    /// For a text given as one of several content parts (chat <c>content</c> as an array): the part's position; -1 when the
    /// text is the field's whole string.
    /// </summary>
    internal int Part { get; init; } = -1;

    /// <summary>Whether <see cref="Text"/> was changed.</summary>
    public bool IsModified { get; private set; }

    /// <summary>Whether the event was removed: the client receives nothing of it.</summary>
    public bool IsRemoved { get; private set; }

    /// <summary>Whether a policy made this event (rather than the backend sending it).</summary>
    public bool IsAdded { get; private init; }

    /// <summary>Removes the event: the client receives nothing of it (a removed tool call takes its arguments with it).</summary>
    public void Remove() => IsRemoved = true;

    /// <summary>Makes a text-bearing event to add to a chunk (<see cref="StreamChunk.Add"/>).</summary>
    /// <param name="slot">The slot.</param>
    /// <param name="text">The text.</param>
    /// <param name="kind">
    /// A text-bearing kind other than tool arguments (those belong to a call: <see cref="CreateToolArguments"/>);
    /// <see cref="OutputKind.Text"/> by default.
    /// </param>
    public static OutputEvent CreateText(int slot, string text, OutputKind kind = OutputKind.Text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (kind is not (OutputKind.Text or OutputKind.Refusal or OutputKind.Reasoning or OutputKind.AudioTranscript))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only text, refusal, reasoning or transcript events can be made.");
        }

        return new(kind, slot, text) { IsAdded = true };
    }

    /// <summary>
    /// Makes a fragment of a tool call's arguments to add to a chunk (<see cref="StreamChunk.Add"/>), e.g. arguments a
    /// policy held back: it goes after the call's own arguments in this chunk, as the call's next fragment.
    /// </summary>
    /// <param name="slot">The slot.</param>
    /// <param name="toolIndex">Which call of the slot (<see cref="ToolIndex"/>; -1 for a legacy <c>function_call</c>).</param>
    /// <param name="text">The arguments' text (for a function tool, a piece of JSON text).</param>
    public static OutputEvent CreateToolArguments(int slot, int toolIndex, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(toolIndex, -1);
        return new(OutputKind.ToolArguments, slot, text, toolIndex) { IsAdded = true };
    }

    /// <summary>Makes an event that ends a slot, e.g. with <see cref="ContentFilter"/> when a policy stops it.</summary>
    /// <param name="slot">The slot.</param>
    /// <param name="reason">The finish reason, in chat completions' words.</param>
    public static OutputEvent CreateFinish(int slot, string reason = ContentFilter)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new(OutputKind.Finish, slot, string.Empty, finishReason: reason) { IsAdded = true };
    }

    private sealed record Detail(string? ToolCallId, string? ToolName, string? FinishReason, long? InputTokens, long? OutputTokens);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        OutputKind.ToolCall => $"{Kind}[{Slot}.{ToolIndex}] {ToolName}",
        OutputKind.Finish => $"{Kind}[{Slot}] {FinishReason}",
        _ => $"{Kind}[{Slot}] ({_text.Length} chars)",
    };
}
