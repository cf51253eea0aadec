using System.Text.Json;

namespace Luthien.Control;

// StreamAssembler: where the parts of an event lie, and the text the answer builds from them.
internal static partial class StreamAssembler
{
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
}
