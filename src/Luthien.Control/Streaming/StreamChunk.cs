using System.Buffers;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// One server-sent event of a streamed answer: normally a <c>chat.completion.chunk</c>. The bytes it arrived with are
/// kept, and written out unchanged unless a policy replaces or modifies the JSON.
/// </summary>
/// <remarks>
/// A chunk read from a backend holds its bytes in a pooled buffer, which goes back to the pool once the chunk has been
/// written to the client (<see cref="Release"/>). A chunk is written once; code that needs its bytes or its JSON after
/// it was passed on must copy them (<c>chunk.Data.ToArray()</c>) before, not keep the <see cref="Data"/> memory.
/// </remarks>
public sealed partial class StreamChunk
{
    private static readonly byte[] ErrorProperty = "\"error\""u8.ToArray();
    private ReadOnlyMemory<byte> _data;
    private byte[]? _pooled;
    private bool _jsonParsed;
    private bool _released;
    private bool _modified;
    private bool _everModified;

    // Two fields carry four things, so that a chunk no policy reads is no larger than before the event view existed:
    // _meta is the event type (string), the wire format, or both (Adopted); _parsed is the JSON tree, or the events
    // (an OutputList, which then also holds the tree).
    private object? _meta;
    private object? _parsed;

    private StreamChunk(ReadOnlyMemory<byte> data, JsonObject? json, string? eventType, bool modified)
    {
        _data = data;
        _parsed = json;
        _jsonParsed = json is not null;
        _meta = eventType;
        IsModified = modified;
    }

    /// <summary>Creates a chunk from the exact bytes of an event's data.</summary>
    /// <param name="data">The event's data (UTF-8 JSON).</param>
    /// <param name="eventType">The event's <c>event:</c> field, if any.</param>
    public static StreamChunk FromUtf8(ReadOnlyMemory<byte> data, string? eventType = null) => new(data, null, eventType, false);

    /// <summary>
    /// Creates a chunk from a copy of the bytes an in-process update was written as, held in a pooled buffer (returned by
    /// <see cref="Release"/>).
    /// </summary>
    /// <param name="data">The chunk's JSON; copied.</param>
    /// <param name="knownText">The text its one choice delta carries, as the string it was written from, if any.</param>
    internal static StreamChunk CopyInProcess(ReadOnlySpan<byte> data, string? knownText)
    {
        var chunk = CopyToPooled(data);
        chunk.KnownText = knownText;
        return chunk;
    }

    /// <summary>
    /// Creates a chunk from a copy of an event's data, held in a buffer rented from <see cref="ArrayPool{T}.Shared"/>
    /// and returned by <see cref="Release"/>.
    /// </summary>
    /// <param name="data">The event's data (UTF-8 JSON); copied.</param>
    /// <param name="eventType">The event's <c>event:</c> field, if any.</param>
    public static StreamChunk CopyToPooled(ReadOnlySpan<byte> data, string? eventType = null)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(buffer);
        return new(buffer.AsMemory(0, data.Length), null, eventType, false) { _pooled = buffer };
    }

    /// <summary>Creates a chunk from JSON a policy built.</summary>
    /// <param name="json">The chunk's JSON.</param>
    public static StreamChunk FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new(ReadOnlyMemory<byte>.Empty, json, null, true);
    }

    /// <summary>Creates a chunk from JSON the library built, with its event's <c>event:</c> type.</summary>
    internal static StreamChunk FromJson(JsonObject json, string? eventType) => new(ReadOnlyMemory<byte>.Empty, json, eventType, true);

    /// <summary>The event's <c>event:</c> field, if the backend sent one.</summary>
    public string? EventType => _meta switch
    {
        string eventType => eventType,
        Adopted adopted => adopted.EventType,
        _ => null,
    };

    private JsonObject? ParsedJson
    {
        get => _parsed as JsonObject ?? (_parsed as OutputList)?.Tree;
        set
        {
            if (_parsed is OutputList list)
            {
                list.Tree = value;
            }
            else
            {
                _parsed = value;
            }
        }
    }

    private OutputList? ParsedOutput
    {
        get => _parsed as OutputList;
        set
        {
            var tree = ParsedJson;
            if (value is null)
            {
                _parsed = tree;
            }
            else
            {
                value.Tree = tree;
                _parsed = value;
            }
        }
    }

    /// <summary>Whether the JSON was changed since the chunk arrived, so that it must be serialized again.</summary>
    public bool IsModified
    {
        get => _modified;
        private set
        {
            _modified = value;
            _everModified |= value;
        }
    }

    /// <summary>
    /// The text of the chunk's one choice delta as the string it was written from, for a chunk the library wrote from an
    /// in-process update (<see langword="null"/> otherwise): a decoder that finds exactly these characters in the bytes
    /// takes this string instead of a copy of it.
    /// </summary>
    internal string? KnownText { get; private set; }

    /// <summary>
    /// Whether a policy changed the chunk, ever: its JSON, its output events, or its bytes (unlike
    /// <see cref="IsModified"/>, which is cleared once the change has been written into <see cref="Data"/>).
    /// </summary>
    internal bool WasChanged
    {
        get
        {
            ApplyOutput();
            return _everModified;
        }
    }

    /// <summary>The size of the chunk's bytes as they came (or were last written), without serializing a changed chunk.</summary>
    internal int Size => _data.Length;

    /// <summary>
    /// The data bytes as they will be written: the original bytes, or the serialized JSON if modified (empty when the
    /// policies left nothing of the chunk to send).
    /// </summary>
    public ReadOnlyMemory<byte> Data
    {
        get
        {
            ThrowIfReleased();
            ApplyOutput();
            if (IsModified && ParsedJson is not null)
            {
                _data = LuthienJson.ToUtf8Bytes(ParsedJson);
                IsModified = false;
            }

            return _data;
        }
    }

    /// <summary>
    /// The data parsed as a JSON object (parsed on first use). A policy that changes the returned object must call
    /// <see cref="MarkModified"/> so that the change is written.
    /// </summary>
    /// <exception cref="BackendException">
    /// The data cannot be read as one JSON object: not JSON, not an object, not valid UTF-8, an unpaired surrogate escape,
    /// a repeated property name, or nested deeper than 64 levels (502 <c>backend_invalid_response</c>). A policy that must read a chunk cannot let it
    /// pass unread, so the stream ends with an error; chunks no policy reads are never parsed.
    /// </exception>
    public JsonObject? Json
    {
        get
        {
            ApplyOutput();
            return Tree;
        }
    }

    /// <summary>The JSON as it stands, without writing pending <see cref="Output"/> changes into it first (for adapters).</summary>
    internal JsonObject? Tree
    {
        get
        {
            if (!_jsonParsed)
            {
                ThrowIfReleased();
                if (!TryParse(_data.Span, out var json) || json is null)
                {
                    // Not one readable JSON object: a policy that meant to read it must not pass it on unread.
                    throw BackendException.InvalidResponse("a streamed event is not a readable JSON object.");
                }

                ParsedJson = json;
                _jsonParsed = true;
            }

            return ParsedJson;
        }
    }

    /// <summary>
    /// Whether this event is an error: a JSON object with no <c>choices</c> that either has the type <c>error</c>
    /// (Responses API) or has a top-level <c>error</c> and no <c>type</c> at all. The event's
    /// <c>event:</c> type alone does not make it one: error events skip the policies, and chat streams are written
    /// without event types, so an <c>event: error</c> carrying a chunk would reach the client as an unpoliced chunk.
    /// For the same reason a Responses event of another type (<c>response.output_text.delta</c>, say) stays what its
    /// type says even with an <c>error</c> member: clients act on the type, and would show its text.
    /// </summary>
    public bool IsError
    {
        get
        {
            // Cheap pre-check: only parse when the bytes mention "error" at all.
            if (!_jsonParsed && !IsModified && _data.Span.IndexOf(ErrorProperty) < 0)
            {
                return false;
            }

            // Not Json: an event that cannot be read is not taken for an error here; a policy that reads it fails instead.
            if (!_jsonParsed)
            {
                ThrowIfReleased();
                if (!TryParse(_data.Span, out var json))
                {
                    return false;
                }

                ParsedJson = json;
                _jsonParsed = true;
            }

            // A Responses stream's error event says so in its type, with its fields at the top level.
            return ParsedJson is { } o && !o.ContainsKey("choices") &&
                (o.TryGetPropertyValue("type", out var type) ? type is JsonValue t && t.TryGetValue(out string? name) && name == "error" : o.ContainsKey("error"));
        }
    }

    /// <summary>Records that <see cref="Json"/> was changed, so that it is serialized again when written.</summary>
    public void MarkModified()
    {
        if (Json is null)
        {
            throw new InvalidOperationException("The chunk's data is not a JSON object.");
        }

        IsModified = true;

        // The events are read again from the changed JSON when next asked for.
        ParsedOutput = null;
    }

    /// <summary>Marks the tree as changed by an adapter writing events back (the events themselves stay as they are).</summary>
    internal void MarkTreeModified() => IsModified = true;

    /// <summary>The answer's wire format, which reads and writes <see cref="Output"/>; set when the chunk enters the policies.</summary>
    internal WireFormat? Format
    {
        get => _meta switch
        {
            WireFormat format => format,
            Adopted adopted => adopted.Format,
            _ => null,
        };

        set
        {
            if (value is null || Format is not null)
            {
                return;
            }

            _meta = _meta is string eventType ? new Adopted(value, eventType) : value;
        }
    }

    /// <summary>
    /// Gives the chunk's pooled buffer back once the chunk has been written; the writer of the response calls it. After
    /// it, the chunk's bytes may no longer be read (its JSON stays readable if it was parsed before). Calling it again,
    /// or on a chunk without a pooled buffer, does nothing.
    /// </summary>
    public void Release()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        _data = ReadOnlyMemory<byte>.Empty;
        ParsedOutput = null;
        if (_pooled is { } buffer)
        {
            _pooled = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A chunk's wire format together with its event type.</summary>
    private sealed class Adopted(WireFormat format, string eventType)
    {
        public WireFormat Format { get; } = format;

        public string EventType { get; } = eventType;
    }

    /// <summary>Parses event data with the library's rules; false if it cannot be read, true with null if not an object.</summary>
    private static bool TryParse(ReadOnlySpan<byte> data, out JsonObject? json)
    {
        var read = JsonHygiene.ReadNode(data, out var node) == JsonFault.None;
        json = node as JsonObject;
        return read;
    }

    private void ThrowIfReleased()
    {
        if (_released)
        {
            throw new InvalidOperationException("The chunk was written and released; copy its data before passing it on to keep it.");
        }
    }
}
