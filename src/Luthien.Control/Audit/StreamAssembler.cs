using System.Text.Json;

namespace Luthien.Control;

/// <summary>
/// Puts a stream's events back together as one answer, the way a client reading it would: a chat stream becomes a
/// <c>chat.completion</c> (each choice's text, refusal, tool calls and finish reason), a legacy stream a
/// <c>text_completion</c>, a Responses stream the response its last event carried. An error event is kept as
/// <c>error</c>. Only the audit log uses it, on events the client already received, on the log writer's thread.
/// </summary>
/// <remarks>
/// Each event is read once, by a <see cref="Utf8JsonReader"/>, and what the answer keeps of it stays a slice of the
/// event's bytes until the answer is written: no tree is built. An event is skipped whole when it is not a JSON object
/// the library's rules accept (UTF-8, surrogate escapes in pairs, syntax, depth): what it says is taken in only once it
/// has been read to its end. A name repeated in an event is read as its last occurrence (a parser that refused such
/// events used to skip them).
/// </remarks>
internal static partial class StreamAssembler
{
    /// <summary>The most a thread keeps of a text buffer between streams; a longer one is let go after its stream.</summary>
    private const int KeptChars = 64 * 1024;

    /// <summary>The most choices, tool calls or staged fragments a thread keeps for the next stream; more are let go.</summary>
    private const int KeptItems = 16;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = JsonHygiene.MaxDepth };

    // The answer's own names and words: written as they are when the mask leaves them alone (checked once per mask).
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText CreatedName = JsonEncodedText.Encode("created");
    private static readonly JsonEncodedText ModelName = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText FingerprintName = JsonEncodedText.Encode("system_fingerprint");
    private static readonly JsonEncodedText UsageName = JsonEncodedText.Encode("usage");
    private static readonly JsonEncodedText ObjectName = JsonEncodedText.Encode("object");
    private static readonly JsonEncodedText ChoicesName = JsonEncodedText.Encode("choices");
    private static readonly JsonEncodedText IndexName = JsonEncodedText.Encode("index");
    private static readonly JsonEncodedText TextName = JsonEncodedText.Encode("text");
    private static readonly JsonEncodedText MessageName = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText RoleName = JsonEncodedText.Encode("role");
    private static readonly JsonEncodedText ContentName = JsonEncodedText.Encode("content");
    private static readonly JsonEncodedText RefusalName = JsonEncodedText.Encode("refusal");
    private static readonly JsonEncodedText ToolCallsName = JsonEncodedText.Encode("tool_calls");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText FunctionName = JsonEncodedText.Encode("function");
    private static readonly JsonEncodedText NameName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText ArgumentsName = JsonEncodedText.Encode("arguments");
    private static readonly JsonEncodedText FinishReasonName = JsonEncodedText.Encode("finish_reason");
    private static readonly JsonEncodedText ResponseName = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText OutputTextName = JsonEncodedText.Encode("output_text");
    private static readonly JsonEncodedText ChatCompletion = JsonEncodedText.Encode("chat.completion");
    private static readonly JsonEncodedText TextCompletion = JsonEncodedText.Encode("text_completion");
    private static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");

    private static readonly JsonEncodedText[] OwnWords =
    [
        ErrorName, IdName, CreatedName, ModelName, FingerprintName, UsageName, ObjectName, ChoicesName, IndexName, TextName,
        MessageName, RoleName, ContentName, RefusalName, ToolCallsName, TypeName, FunctionName, NameName, ArgumentsName,
        FinishReasonName, ResponseName, OutputTextName, ChatCompletion, TextCompletion, Assistant,
    ];

    [ThreadStatic]
    private static ChoicesAssembler? t_choices;

    [ThreadStatic]
    private static ResponsesAssembler? t_responses;

    /// <summary>Writes the answer the events make, masked, as the writer's next value.</summary>
    /// <param name="writer">Where to.</param>
    /// <param name="api">The API (<c>chat.completions</c>, <c>completions</c>, <c>responses</c>).</param>
    /// <param name="events">Each event's data; they must stay as they are until this returns.</param>
    /// <param name="mask">What secrets look like.</param>
    /// <remarks>
    /// Masked as <see cref="MaskedJson"/> masks: the same text as <see cref="AuditMask.Apply(System.Text.Json.Nodes.JsonNode?)"/>
    /// gives, except that a member whose name needs masking keeps its place in its object (a tree moved it last).
    /// </remarks>
    public static void Write(Utf8JsonWriter writer, string? api, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        WriteAnswer(writer, api, events, mask);
    }

    /// <summary>As <see cref="Write"/>; a <see langword="null"/> mask writes the answer as the events said it.</summary>
    private static void WriteAnswer(Utf8JsonWriter writer, string? api, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask? mask)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(events);
        if (api == "responses")
        {
            // A thread's assembler is reused from stream to stream; one already in use (a nested call) is not shared.
            var responses = t_responses is { InUse: false } kept ? kept : new ResponsesAssembler();
            t_responses ??= responses;
            responses.Run(writer, events, mask);
        }
        else
        {
            var choices = t_choices is { InUse: false } kept ? kept : new ChoicesAssembler();
            t_choices ??= choices;
            choices.Run(writer, api == "completions", events, mask);
        }
    }

    /// <summary>
    /// Where a value of the event being read lies: a start and a length in its bytes. Empty when the event has none to
    /// keep (no JSON value is empty).
    /// </summary>
    private readonly record struct Slice(int Start, int Length)
    {
        public bool IsEmpty => Length == 0;

        /// <summary>
        /// The value the reader stands on (its first token read), through its last token; <paramref name="origin"/> is
        /// where the reader's bytes start in the event's.
        /// </summary>
        public static Slice Of(ref Utf8JsonReader reader, int origin)
        {
            var start = checked((int)reader.TokenStartIndex);
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }

            return new Slice(checked(origin + start), checked((int)reader.BytesConsumed) - start);
        }

        /// <summary>The value if the reader stands on one that is not <c>null</c>; empty otherwise (the value skipped).</summary>
        public static Slice OfNotNull(ref Utf8JsonReader reader, int origin) =>
            reader.TokenType == JsonTokenType.Null ? default : Of(ref reader, origin);

        /// <summary>The value if the reader stands on an object; empty otherwise (the value skipped).</summary>
        public static Slice OfObject(ref Utf8JsonReader reader, int origin)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                return Of(ref reader, origin);
            }

            reader.Skip();
            return default;
        }

        public ReadOnlyMemory<byte> In(ReadOnlyMemory<byte> data) => IsEmpty ? default : data.Slice(Start, Length);
    }

    /// <summary>
    /// Where a reading may start other than at an event's first byte: when the event begins with the very bytes an earlier
    /// one of the stream began with up to a member's name and colon (<see cref="At"/> of them), and that event was read
    /// whole, the reader goes on from the state it had there (<see cref="State"/>): a reader's path through bytes depends
    /// on those bytes alone, so reading them again would end in the same state. None when <see cref="At"/> is 0.
    /// </summary>
    private readonly record struct Resumption(int At, int RootStart, JsonReaderState State)
    {
        public bool IsNone => At == 0;
    }

    /// <summary>Where a string of the event being read lies, unescaped, in the event's text buffer; or none.</summary>
    private readonly record struct TextSlice(int Start, int Length, bool Present);

    /// <summary>Text that grows by appending: a choice's content, a tool call's arguments, an event's strings.</summary>
    private sealed class TextBuffer
    {
        private char[] _chars = [];

        public int Length { get; private set; }

        /// <summary>Whether any text (even empty) was appended since the last clear.</summary>
        public bool Seen { get; private set; }

        public ReadOnlySpan<char> Text => _chars.AsSpan(0, Length);

        public ReadOnlySpan<char> this[TextSlice slice] => _chars.AsSpan(slice.Start, slice.Length);

        public void Append(ReadOnlySpan<char> text)
        {
            Seen = true;
            Reserve(text.Length);
            text.CopyTo(_chars.AsSpan(Length));
            Length += text.Length;
        }

        /// <summary>Appends the string the reader stands on, unescaped.</summary>
        public TextSlice Append(ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                return default;
            }

            // Unescaped UTF-16 never has more code units than the token has bytes.
            Reserve(reader.ValueSpan.Length);
            var start = Length;
            Length += reader.CopyString(_chars.AsSpan(start));
            Seen = true;
            return new TextSlice(start, Length - start, true);
        }

        public void Clear()
        {
            Length = 0;
            Seen = false;
            if (_chars.Length > KeptChars)
            {
                _chars = [];
            }
        }

        private void Reserve(int more)
        {
            if (_chars.Length - Length < more)
            {
                Array.Resize(ref _chars, Math.Max(checked(Length + more), Math.Max(16, _chars.Length * 2)));
            }
        }
    }

    /// <summary>What the assemblers share: where the answer goes, how it is masked, and the writing of its parts.</summary>
    private abstract class Assembler
    {
        private readonly TextBuffer _decoded = new();
        private readonly byte[] _name = new byte[128];
        private AuditMask? _checkedMask;
        private bool _wordsClean;
        private Utf8JsonWriter? _writer;
        private AuditMask? _mask;

        public bool InUse { get; private set; }

        /// <summary>
        /// The name the reader stands on, unescaped (empty if too long to be a name read here): read once and compared
        /// with each name wanted, instead of the reader unescaping and checking its token for every comparison.
        /// </summary>
        protected ReadOnlySpan<byte> NameOf(ref Utf8JsonReader reader)
        {
            if (!reader.ValueIsEscaped)
            {
                return reader.ValueSpan;
            }

            // Unescaping never lengthens a name; an escaped name longer than the buffer is longer than any name wanted.
            return reader.ValueSpan.Length > _name.Length ? default : _name.AsSpan(0, reader.CopyString(_name));
        }

        /// <summary>The event being read's strings, unescaped.</summary>
        protected TextBuffer EventText { get; } = new();

        protected Utf8JsonWriter Writer => _writer!;

        /// <summary>Where the reader's bytes start in the event being read's: 0, or after the bytes a reading resumed past.</summary>
        protected int Origin { get; private set; }

        /// <summary>Where the root object of the event being read starts (past white space).</summary>
        protected int RootStart { get; private set; }

        /// <summary>Reads an event whole; <see langword="false"/> when it is to be skipped (what it said is then dropped).</summary>
        protected bool TryRead(ReadOnlySpan<byte> json) => TryRead(json, default);

        /// <summary>
        /// Reads an event, from its first byte or, when <paramref name="resume"/> says so, from just after bytes an earlier
        /// event began with too (see <see cref="Resumption"/>); <see langword="false"/> when it is to be skipped (what it
        /// said is then dropped).
        /// </summary>
        protected bool TryRead(ReadOnlySpan<byte> json, in Resumption resume)
        {
            EventText.Clear();

            // Only the bytes read now are checked: those before them were an earlier event's, checked then. They end just
            // after a name's colon, outside any string, so no character or escape spans the cut.
            var rest = json[resume.At..];
            if (!JsonHygiene.HasValidText(rest))
            {
                return false;
            }

            try
            {
                Origin = resume.At;
                Utf8JsonReader reader;
                if (resume.IsNone)
                {
                    reader = new Utf8JsonReader(json, ReaderOptions);
                    if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                    {
                        return false;
                    }

                    RootStart = checked((int)reader.TokenStartIndex);
                    BeginEvent();
                }
                else
                {
                    // The reader goes on as if it had read the earlier event's bytes, which are these.
                    reader = new Utf8JsonReader(rest, isFinalBlock: true, resume.State);
                    RootStart = resume.RootStart;
                    BeginEvent();
                    if (!reader.Read())
                    {
                        return false;
                    }

                    ReadResumedValue(ref reader);
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    ReadMember(ref reader);
                }

                // The root's end, then nothing but white space (the reader refuses anything else).
                if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                {
                    return false;
                }

                EndEvent(new Slice(RootStart, checked(Origin + (int)reader.BytesConsumed) - RootStart));
                return true;
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // JsonException: syntax or depth; InvalidOperationException: text that cannot be read as UTF-16 (already
                // ruled out above, so this is only a guard: an event that breaks the assembly is skipped, not the row).
                return false;
            }
        }

        /// <summary>Forgets what the last event read said.</summary>
        protected abstract void BeginEvent();

        /// <summary>Reads one member of an event: the reader stands on its name and ends on its value's last token.</summary>
        protected abstract void ReadMember(ref Utf8JsonReader reader);

        /// <summary>
        /// Reads the value of the member a resumed reading starts in (see <see cref="Resumption"/>): the reader stands on
        /// its first token and ends on its last.
        /// </summary>
        protected virtual void ReadResumedValue(ref Utf8JsonReader reader) =>
            throw new NotSupportedException("This assembler does not resume readings.");

        /// <summary>The event was read to its end: where it lies.</summary>
        protected virtual void EndEvent(Slice root)
        {
        }

        protected void Begin(Utf8JsonWriter writer, AuditMask? mask)
        {
            InUse = true;
            _writer = writer;
            _mask = mask;
            if (mask is not null && !ReferenceEquals(mask, _checkedMask))
            {
                _checkedMask = mask;
                _wordsClean = OwnWords.All(w => mask.IsClean(w.Value));
            }
        }

        protected virtual void End()
        {
            _writer = null;
            _mask = null;
            EventText.Clear();
            _decoded.Clear();
            InUse = false;
        }

        /// <summary>One of the answer's own names.</summary>
        protected void Name(JsonEncodedText name)
        {
            if (_mask is null || _wordsClean)
            {
                Writer.WritePropertyName(name);
            }
            else
            {
                Writer.WritePropertyName(_mask.Apply(name.Value));
            }
        }

        /// <summary>One of the answer's own words, as a string value.</summary>
        protected void Word(JsonEncodedText word)
        {
            if (_mask is null || _wordsClean)
            {
                Writer.WriteStringValue(word);
            }
            else
            {
                Writer.WriteStringValue(_mask.Apply(word.Value));
            }
        }

        /// <summary>Text the answer assembled, as a string value.</summary>
        protected void Text(ReadOnlySpan<char> text)
        {
            if (_mask is null)
            {
                Writer.WriteStringValue(text);
            }
            else
            {
                MaskedJson.WriteString(Writer, _mask, text);
            }
        }

        /// <summary>A value kept from an event as it came, masked; <c>null</c> when there is none.</summary>
        protected void Raw(ReadOnlyMemory<byte> value)
        {
            var json = value.Span;
            if (json.IsEmpty)
            {
                Writer.WriteNullValue();
                return;
            }

            switch (json[0])
            {
                case (byte)'"':
                    var reader = new Utf8JsonReader(json, ReaderOptions);
                    reader.Read();
                    _decoded.Clear();
                    _decoded.Append(ref reader);
                    Text(_decoded.Text);
                    break;
                case (byte)'{' or (byte)'[':
                    if (_mask is null)
                    {
                        Writer.WriteRawValue(json, skipInputValidation: true);
                    }
                    else if (!MaskedJson.TryCopy(Writer, _mask, json))
                    {
                        // Read whole already, so only a bound the event did not meet at once (its token count) gets here:
                        // nothing of it is kept rather than a row left unfinished.
                        Writer.WriteNullValue();
                    }

                    break;
                case (byte)'t':
                    Writer.WriteBooleanValue(true);
                    break;
                case (byte)'f':
                    Writer.WriteBooleanValue(false);
                    break;
                case (byte)'n':
                    Writer.WriteNullValue();
                    break;
                default:
                    Writer.WriteRawValue(json, skipInputValidation: true);
                    break;
            }
        }
    }
}
