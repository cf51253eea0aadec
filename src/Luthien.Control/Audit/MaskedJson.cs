using System.Buffers;
using System.Text.Json;

namespace Luthien.Control;

/// <summary>
/// Writes the audit log's JSON with every secret masked on the way: strings and property names searched by an
/// <see cref="AuditMask"/>, the value of a credential-named member hidden. A body is copied from its bytes to the row's
/// writer token by token — no tree is built — and a string is made only of text that needs masking. Runs on the log
/// writer's thread.
/// </summary>
internal static class MaskedJson
{
    /// <summary>What the value of a credential-named member becomes.</summary>
    public const string Hidden = "***";

    /// <summary>The most a thread keeps of its buffers between copies; a larger body's are let go after it.</summary>
    private const int KeptBytes = 4 * 1024 * 1024;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = JsonHygiene.MaxDepth };

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>Writes <paramref name="text"/> as a string value, masked.</summary>
    /// <param name="writer">Where to.</param>
    /// <param name="mask">What secrets look like.</param>
    /// <param name="text">The text.</param>
    public static void WriteString(Utf8JsonWriter writer, AuditMask mask, ReadOnlySpan<char> text)
    {
        if (mask.IsClean(text))
        {
            writer.WriteStringValue(text);
        }
        else
        {
            writer.WriteStringValue(mask.Apply(text.ToString()));
        }
    }

    /// <summary>Writes <paramref name="text"/> as a string value, masked, or <c>null</c>.</summary>
    /// <param name="writer">Where to.</param>
    /// <param name="mask">What secrets look like.</param>
    /// <param name="text">The text, or <see langword="null"/>.</param>
    public static void WriteString(Utf8JsonWriter writer, AuditMask mask, string? text)
    {
        if (text is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(mask.Apply(text));
        }
    }

    /// <summary>
    /// Copies one JSON value — a body, a member of an event — masked. Returns <see langword="false"/>, having written
    /// nothing, when the bytes are not one JSON value readable by the library's rules (UTF-8, surrogate escapes in
    /// pairs, depth, the token bound). A name repeated in an object is copied as it came (nothing is lost).
    /// </summary>
    /// <param name="writer">Where to; the value goes where the writer expects one.</param>
    /// <param name="mask">What secrets look like.</param>
    /// <param name="json">The value's UTF-8 bytes.</param>
    public static bool TryCopy(Utf8JsonWriter writer, AuditMask mask, ReadOnlySpan<byte> json)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(mask);
        if (json.IsEmpty || JsonHygiene.HasTooManyTokens(json) || !JsonHygiene.HasValidText(json))
        {
            return false;
        }

        // Into a scratch buffer first: a value that turns out unreadable half-way leaves the row's writer untouched.
        var scratch = t_scratch is { InUse: false } kept ? kept : new Scratch();
        t_scratch ??= scratch;
        scratch.Begin();
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read())
            {
                return false;
            }

            Copy(ref reader, json, scratch, mask, mask.IsCleanJson(json));
            if (reader.Read())
            {
                return false;
            }

            scratch.Writer.Flush();
            writer.WriteRawValue(scratch.Buffer.WrittenSpan, skipInputValidation: true);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // JsonException: syntax or depth; the others: text that cannot be read as UTF-16 (already ruled out above).
            return false;
        }
        finally
        {
            scratch.End();
        }
    }

    /// <summary>Copies the value the reader stands on (its first token read), through its last token.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="json">The bytes the reader reads.</param>
    /// <param name="scratch">Where to.</param>
    /// <param name="mask">What secrets look like.</param>
    /// <param name="clean">Whether the whole text is known to hold no secret (<see cref="AuditMask.IsCleanJson"/>).</param>
    private static void Copy(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Scratch scratch, AuditMask mask, bool clean)
    {
        var writer = scratch.Writer;
        var depth = reader.CurrentDepth;
        var hide = false;
        while (true)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    hide = false;
                    writer.WriteStartObject();
                    scratch.EnterObject(checked((int)reader.TokenStartIndex));
                    break;
                case JsonTokenType.EndObject:
                    writer.WriteEndObject();
                    scratch.LeaveObject();
                    break;
                case JsonTokenType.StartArray:
                    hide = false;
                    writer.WriteStartArray();
                    break;
                case JsonTokenType.EndArray:
                    writer.WriteEndArray();
                    break;
                case JsonTokenType.PropertyName:
                {
                    var name = scratch.Text(ref reader);

                    // A name is the client's text too (metadata, logit_bias, a tool schema's properties).
                    hide = SecretRedactor.IsSensitiveHeader(name);
                    if (clean || mask.IsClean(name))
                    {
                        writer.WritePropertyName(name);
                    }
                    else
                    {
                        writer.WritePropertyName(scratch.Unique(json, mask.Apply(name.ToString())));
                    }

                    break;
                }

                case JsonTokenType.String when hide:
                case JsonTokenType.Number when hide:
                case JsonTokenType.True when hide:
                case JsonTokenType.False when hide:
                    hide = false;
                    writer.WriteStringValue(Hidden);
                    break;
                case JsonTokenType.String when clean:
                    writer.WriteStringValue(scratch.Text(ref reader));
                    break;
                case JsonTokenType.String:
                    WriteString(writer, mask, scratch.Text(ref reader));
                    break;
                case JsonTokenType.Number:
                    writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                    break;
                case JsonTokenType.True:
                    writer.WriteBooleanValue(true);
                    break;
                case JsonTokenType.False:
                    writer.WriteBooleanValue(false);
                    break;
                case JsonTokenType.Null:
                    hide = false;
                    writer.WriteNullValue();
                    break;
                default:
                    throw new JsonException("Unexpected token.");
            }

            // The value ends with the token that closes it at its own depth (or is that token, when it is a primitive).
            if (reader.CurrentDepth == depth && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName))
            {
                return;
            }

            if (!reader.Read())
            {
                throw new JsonException("The value ends early.");
            }
        }
    }

    /// <summary>
    /// <paramref name="name"/>, or it with a number appended, whichever is not in <paramref name="taken"/> (which gets
    /// it): a masked name must not repeat another name of its object, or a reader keeping one value per name loses one.
    /// </summary>
    /// <param name="taken">Every name of the object, and the masked names already given out.</param>
    /// <param name="name">The masked name.</param>
    internal static string Unique(HashSet<string> taken, string name)
    {
        var unique = name;
        for (var n = 2; !taken.Add(unique); n++)
        {
            unique = name + "#" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return unique;
    }

    /// <summary>A thread's buffers for one copy at a time.</summary>
    private sealed class Scratch
    {
        private char[] _chars = new char[256];
        // Each open object: where it starts, and its names once one of them was masked.
        private readonly List<(int Start, HashSet<string>? Names)> _objects = [];

        public Scratch()
        {
            Buffer = new ArrayBufferWriter<byte>(1024);
            Writer = new Utf8JsonWriter(Buffer, new JsonWriterOptions { SkipValidation = true, MaxDepth = JsonHygiene.MaxDepth + 1 });
        }

        public ArrayBufferWriter<byte> Buffer { get; private set; }

        public Utf8JsonWriter Writer { get; }

        public bool InUse { get; private set; }

        public void Begin()
        {
            InUse = true;
            Buffer.ResetWrittenCount();
            Writer.Reset(Buffer);
            _objects.Clear();
        }

        public void End()
        {
            InUse = false;
            if (Buffer.Capacity > KeptBytes)
            {
                Buffer = new ArrayBufferWriter<byte>(1024);
            }

            if (_chars.Length > KeptBytes / 2)
            {
                _chars = new char[256];
            }
        }

        /// <summary>The current string token's text, unescaped; valid until the next call.</summary>
        public ReadOnlySpan<char> Text(ref Utf8JsonReader reader)
        {
            // Unescaped UTF-16 never has more code units than the token has bytes.
            var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
            if (_chars.Length < length)
            {
                _chars = new char[Math.Max(length, _chars.Length * 2)];
            }

            return _chars.AsSpan(0, reader.CopyString(_chars));
        }

        public void EnterObject(int start) => _objects.Add((start, null));

        public void LeaveObject() => _objects.RemoveAt(_objects.Count - 1);

        /// <summary>
        /// A masked name made unique in its object: apart from the other masked names, and from every name the object
        /// holds, before or after this one (read when the first of its names is masked; a name kept as it is may equal
        /// a masked one, e.g. <c>[REDACTED]</c>).
        /// </summary>
        public string Unique(ReadOnlySpan<byte> json, string name)
        {
            var (start, names) = _objects[^1];
            if (names is null)
            {
                names = new HashSet<string>(StringComparer.Ordinal);
                var reader = new Utf8JsonReader(json[start..], ReaderOptions);
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    names.Add(reader.GetString()!);
                    reader.Read();
                    reader.Skip();
                }

                _objects[^1] = (start, names);
            }

            return MaskedJson.Unique(names, name);
        }
    }
}
