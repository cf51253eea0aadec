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
    /// Masked as <see cref="MaskedJson"/> masks: the same text as the tree masking rows used before, except that a
    /// member whose name needs masking keeps its place in its object (a tree moved it last).
    /// </remarks>
    public static void Write(Utf8JsonWriter writer, string? api, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask mask)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(mask);
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

        /// <summary>The mask of the stream being written (set from <see cref="Begin"/> to <see cref="End"/>).</summary>
        private AuditMask Mask => _mask!;

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

        protected void Begin(Utf8JsonWriter writer, AuditMask mask)
        {
            InUse = true;
            _writer = writer;
            _mask = mask;
            if (!ReferenceEquals(mask, _checkedMask))
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
            if (_wordsClean)
            {
                Writer.WritePropertyName(name);
            }
            else
            {
                Writer.WritePropertyName(Mask.Apply(name.Value));
            }
        }

        /// <summary>One of the answer's own words, as a string value.</summary>
        protected void Word(JsonEncodedText word)
        {
            if (_wordsClean)
            {
                Writer.WriteStringValue(word);
            }
            else
            {
                Writer.WriteStringValue(Mask.Apply(word.Value));
            }
        }

        /// <summary>Text the answer assembled, as a string value.</summary>
        protected void Text(ReadOnlySpan<char> text) => MaskedJson.WriteString(Writer, Mask, text);

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
                    if (!MaskedJson.TryCopy(Writer, Mask, json))
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
