using System.Text.Json;

namespace Luthien.Control.Streaming;

/// <summary>What a chunk says about one choice, read without building a JSON tree.</summary>
/// <param name="Index">The choice index.</param>
/// <param name="Content">The <c>delta.content</c> text, or <see langword="null"/>.</param>
/// <param name="FinishReason">The <c>finish_reason</c>, or <see langword="null"/>.</param>
/// <param name="DeltaHasOtherFields">Whether the delta carries more than <c>content</c> (role, tool calls, refusal…).</param>
internal readonly record struct ChoiceDelta(int Index, string? Content, string? FinishReason, bool DeltaHasOtherFields);

/// <summary>
/// Reads the <c>choices</c> of a <c>chat.completion.chunk</c> with a forward-only reader, so that a policy can decide
/// whether it must change a chunk before paying for a JSON tree. Anything unexpected makes it give up; callers then
/// take the tree path.
/// </summary>
internal static class ChoiceScanner
{
    /// <summary>Reads each choice's index, content, finish reason, and whether its delta carries more.</summary>
    /// <param name="json">The chunk's JSON.</param>
    /// <param name="choices">Receives the choices.</param>
    /// <param name="shapes">What the stream's chunks repeat (see <see cref="ChunkShapeCache"/>), or <see langword="null"/>.</param>
    /// <param name="hasChoices">Whether the chunk has a <c>choices</c> array.</param>
    /// <param name="knownText">The text the chunk is known to carry (<see cref="StreamChunk.KnownText"/>), taken instead of a copy when the bytes hold exactly it.</param>
    public static bool TryScan(ReadOnlySpan<byte> json, List<ChoiceDelta> choices, ChunkShapeCache? shapes, out bool hasChoices, string? knownText = null)
    {
        choices.Clear();
        if (shapes is not null && shapes.TryReadContentShape(json, choices, knownText))
        {
            hasChoices = true;
            return true;
        }

        var ok = TryWalkChoices(json, choices, TryReadChoice, shapes, out hasChoices);
        if (ok && shapes is not null && choices is [{ Content: not null, FinishReason: null, DeltaHasOtherFields: false } only])
        {
            shapes.LearnContentShape(json, only.Index);
        }

        return ok;
    }

    /// <summary>
    /// Where the <c>delta.content</c> string of a chunk's only choice lies (its quotes included); false if the chunk is
    /// not a one-choice object with such a string.
    /// </summary>
    internal static bool TryLocateOnlyContent(ReadOnlySpan<byte> json, out int start, out int end)
    {
        start = end = -1;
        if (FindChoicesWithReader(json, out var valueAt) != Scan.Found)
        {
            return false;
        }

        var reader = new Utf8JsonReader(json[valueAt..]);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("delta"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                // Exactly one delta, holding exactly one field, the content string: nothing a client could read
                // instead of it may hide in the bytes around it.
                if (found || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !reader.Read() ||
                    reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals("content"u8) ||
                    !reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                start = valueAt + (int)reader.TokenStartIndex;
                end = valueAt + (int)reader.BytesConsumed;
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndObject)
                {
                    return false;
                }

                found = true;
            }

            // The choice ends here, and it was the only one.
            return found && reader.TokenType == JsonTokenType.EndObject && reader.Read() && reader.TokenType == JsonTokenType.EndArray;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads one JSON string token (quotes included), validating it; false if it is not one. A token that holds exactly
    /// <paramref name="knownText"/>, unescaped, gives that string rather than a copy.
    /// </summary>
    internal static bool TryReadString(ReadOnlySpan<byte> token, out string? value, string? knownText = null)
    {
        if (knownText is not null && IsExactly(token, knownText))
        {
            value = knownText;
            return true;
        }

        value = null;
        try
        {
            var reader = new Utf8JsonReader(token);
            if (!reader.Read() || reader.TokenType != JsonTokenType.String || reader.BytesConsumed != token.Length)
            {
                return false;
            }

            value = reader.GetString();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString reports text it cannot transcode (invalid UTF-8) this way.
            return false;
        }
    }

    /// <summary>
    /// Lists the tool-call fragments of a chunk as (choice index, call index) pairs; a legacy <c>function_call</c> is
    /// call -1. Gives up (returns false) on anything unexpected.
    /// </summary>
    public static bool TryScanToolCalls(ReadOnlySpan<byte> json, List<(int Choice, int Call)> calls, ChunkShapeCache? shapes)
    {
        calls.Clear();
        if (shapes is not null && shapes.TryReadToolShape(json, calls))
        {
            return true;
        }

        var ok = TryWalkChoices(json, calls, TryReadChoiceCalls, shapes, out _);
        if (ok && shapes is not null && calls.Count > 0)
        {
            // Only the arguments piece changes from one fragment to the next: the calls listed stay the same.
            shapes.LearnToolShape(json, calls);
        }

        return ok;
    }

    /// <summary>Where the first string value of a property <paramref name="name"/> lies (quotes included).</summary>
    internal static bool TryLocateString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name, out int start, out int end)
    {
        start = end = -1;
        var reader = new Utf8JsonReader(json);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals(name) && reader.Read() &&
                    reader.TokenType == JsonTokenType.String)
                {
                    start = (int)reader.TokenStartIndex;
                    end = (int)reader.BytesConsumed;
                    return true;
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    private delegate bool ChoiceReader<in T>(ref Utf8JsonReader reader, T into);

    /// <summary>Finds the top-level <c>choices</c> array and hands each choice object to <paramref name="readChoice"/>.</summary>
    /// <remarks>
    /// The fields before <c>choices</c> (id, object, created, model, fingerprint: most of a chunk's bytes) are the same in
    /// every chunk of a stream. When a chunk starts with the very bytes that led up to <c>choices</c> in an earlier one
    /// (already read and found valid), the reading starts at the array. What follows the array is scanned too, so that
    /// a second top-level <c>choices</c> makes the scan give up instead of judging one copy while a client reads the other.
    /// </remarks>
    private static bool TryWalkChoices<T>(ReadOnlySpan<byte> json, T into, ChoiceReader<T> readChoice, ChunkShapeCache? shapes, out bool hasChoices)
    {
        hasChoices = false;

        // The reader leaves UTF-8 to the first string read; a chunk with invalid bytes anywhere goes to the tree path,
        // which refuses it. (The shape paths need no such check: their fixed bytes were read here first.)
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            return false;
        }

        int valueAt;
        if (shapes is not null && shapes.MatchesPrefix(json))
        {
            valueAt = shapes.PrefixLength;
        }
        else
        {
            var found = FindChoicesWithReader(json, out valueAt);
            if (found != Scan.Found)
            {
                return found == Scan.NotFound;
            }

            shapes?.RememberPrefix(json[..valueAt]);
        }

        var reader = new Utf8JsonReader(json[valueAt..]);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                return false;
            }

            hasChoices = true;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.StartObject || !readChoice(ref reader, into))
                {
                    return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndArray)
            {
                return false;
            }
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

        return FindTopLevelProperty(json, valueAt + (int)reader.BytesConsumed, "choices"u8) == Scan.NotFound;
    }

    /// <summary>Reads (and so validates) the object up to the value of its top-level <c>choices</c>.</summary>
    private static Scan FindChoicesWithReader(ReadOnlySpan<byte> json, out int valueAt)
    {
        valueAt = -1;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Scan.Malformed;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isChoices = reader.ValueTextEquals("choices"u8);
                reader.Read();
                if (isChoices)
                {
                    valueAt = (int)reader.TokenStartIndex;
                    return Scan.Found;
                }

                reader.Skip();
            }

            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? Scan.NotFound : Scan.Malformed;
        }
        catch (JsonException)
        {
            return Scan.Malformed;
        }
    }

    private enum Scan
    {
        Found,
        NotFound,
        Malformed,
    }

    /// <summary>
    /// From <paramref name="position"/>, a place directly inside the top-level object, looks for the property
    /// <paramref name="name"/> at that level. Tracks only strings (with their escapes) and nesting, so it passes over
    /// other values at the speed of a vectorized search.
    /// </summary>
    private static Scan FindTopLevelProperty(ReadOnlySpan<byte> json, int position, ReadOnlySpan<byte> name)
    {
        var depth = 1;
        var i = position;
        while (i < json.Length)
        {
            var next = json[i..].IndexOfAny(Structural);
            if (next < 0)
            {
                return Scan.Malformed;
            }

            i += next;
            switch (json[i])
            {
                case (byte)'"':
                    var open = i;
                    i = SkipString(json, i + 1);
                    if (i < 0)
                    {
                        return Scan.Malformed;
                    }

                    // At the top level, a string followed by a colon is a property name. One with an escape may spell
                    // the name (`"choic\u0065s"`), which a byte comparison cannot see: the caller then reads the chunk
                    // whole, and that read refuses a name given twice.
                    if (depth == 1)
                    {
                        var text = json[(open + 1)..(i - 1)];
                        var colon = SkipWhitespace(json, i);
                        if (colon < json.Length && json[colon] == (byte)':')
                        {
                            if (text.SequenceEqual(name))
                            {
                                return Scan.Found;
                            }

                            if (text.IndexOf((byte)'\\') >= 0)
                            {
                                return Scan.Malformed;
                            }
                        }
                    }

                    break;
                case (byte)'{' or (byte)'[':
                    depth++;
                    i++;
                    break;
                default:
                    depth--;
                    i++;
                    if (depth == 0)
                    {
                        return Scan.NotFound;
                    }

                    break;
            }
        }

        return Scan.Malformed;
    }

    /// <summary>The position just past the closing quote of a string whose content starts at <paramref name="i"/>; -1 if none.</summary>
    internal static int SkipString(ReadOnlySpan<byte> json, int i)
    {
        while (i < json.Length)
        {
            var next = json[i..].IndexOfAny((byte)'"', (byte)'\\');
            if (next < 0)
            {
                return -1;
            }

            i += next;
            if (json[i] == (byte)'"')
            {
                return i + 1;
            }

            i += 2; // an escape: the next byte is taken as it is, even a quote
        }

        return -1;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int i)
    {
        while (i < json.Length && json[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// Whether <paramref name="token"/> is a string token with no escape whose characters are <paramref name="text"/>'s
    /// UTF-8 bytes, byte for byte (a text with a surrogate half or one too long to compare on the stack is never).
    /// </summary>
    private static bool IsExactly(ReadOnlySpan<byte> token, string text)
    {
        if (token.Length < 2 || token[0] != (byte)'"' || token[^1] != (byte)'"' || text.Length > 256)
        {
            return false;
        }

        var inner = token[1..^1];
        if (inner.IndexOfAny((byte)'\\', (byte)'"') >= 0)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[256 * 3];
        return System.Text.Unicode.Utf8.FromUtf16(text, utf8, out _, out var written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done &&
            inner.SequenceEqual(utf8[..written]);
    }

    private static readonly System.Buffers.SearchValues<byte> Structural = System.Buffers.SearchValues.Create("\"{}[]"u8);

    /// <remarks>
    /// A field it reads that appears twice makes it give up: JSON readers disagree on which copy counts, so the chunk is
    /// left to the tree path, which refuses repeated names.
    /// </remarks>
    private static bool TryReadChoice(ref Utf8JsonReader reader, List<ChoiceDelta> into)
    {
        var index = 0;
        string? content = null;
        string? finish = null;
        var other = false;
        var seen = Seen.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!FirstTime(ref reader, ref seen))
            {
                return false;
            }

            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index) || !ChatChunks.IsIndex(index))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                if (!TryReadStringOrNull(ref reader, out finish))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                var seenInDelta = Seen.None;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (!FirstTime(ref reader, ref seenInDelta))
                    {
                        return false;
                    }

                    if (reader.ValueTextEquals("content"u8))
                    {
                        if (!TryReadStringOrNull(ref reader, out content))
                        {
                            return false;
                        }
                    }
                    else
                    {
                        other = true;
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        into.Add(new ChoiceDelta(index, content, finish, other));
        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>
    /// Reads the value of the property under the reader as a string or null; false for anything else (content parts, an
    /// object): the scanner would otherwise go on reading inside that value as if it were the choice, and take the end of
    /// a parts array for the end of <c>choices</c>, missing everything after it. The tree path reads such chunks.
    /// </summary>
    private static bool TryReadStringOrNull(ref Utf8JsonReader reader, out string? value)
    {
        reader.Read();
        value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return reader.TokenType is JsonTokenType.String or JsonTokenType.Null;
    }

    /// <summary>The fields the scanner reads, to notice one that appears twice in the same object.</summary>
    [Flags]
    private enum Seen
    {
        None = 0,
        Index = 1,
        FinishReason = 2,
        Delta = 4,
        Content = 8,
        ToolCalls = 16,
        FunctionCall = 32,
    }

    /// <summary>Records the property name under the reader if it is one the scanner reads; false if it was seen before.</summary>
    private static bool FirstTime(ref Utf8JsonReader reader, ref Seen seen)
    {
        // An unescaped name is told by its length first: most names are compared once, or not at all.
        var field = (reader.ValueIsEscaped ? -1 : reader.ValueSpan.Length) switch
        {
            5 => reader.ValueTextEquals("index"u8) ? Seen.Index : reader.ValueTextEquals("delta"u8) ? Seen.Delta : Seen.None,
            7 => reader.ValueTextEquals("content"u8) ? Seen.Content : Seen.None,
            10 => reader.ValueTextEquals("tool_calls"u8) ? Seen.ToolCalls : Seen.None,
            13 => reader.ValueTextEquals("finish_reason"u8) ? Seen.FinishReason : reader.ValueTextEquals("function_call"u8) ? Seen.FunctionCall : Seen.None,
            -1 => reader.ValueTextEquals("index"u8) ? Seen.Index
                : reader.ValueTextEquals("delta"u8) ? Seen.Delta
                : reader.ValueTextEquals("content"u8) ? Seen.Content
                : reader.ValueTextEquals("finish_reason"u8) ? Seen.FinishReason
                : reader.ValueTextEquals("tool_calls"u8) ? Seen.ToolCalls
                : reader.ValueTextEquals("function_call"u8) ? Seen.FunctionCall
                : Seen.None,
            _ => Seen.None,
        };
        if ((seen & field) != 0)
        {
            return false;
        }

        seen |= field;
        return true;
    }

    private static bool TryReadChoiceCalls(ref Utf8JsonReader reader, List<(int Choice, int Call)> calls)
    {
        var index = 0;
        var first = calls.Count; // the choice's index may come after its delta: filled in at the end
        var seen = Seen.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!FirstTime(ref reader, ref seen))
            {
                return false;
            }

            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index) || !ChatChunks.IsIndex(index))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                var seenInDelta = Seen.None;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (!FirstTime(ref reader, ref seenInDelta))
                    {
                        return false;
                    }

                    if (reader.ValueTextEquals("tool_calls"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.Null)
                        {
                            continue;
                        }

                        if (reader.TokenType != JsonTokenType.StartArray)
                        {
                            return false;
                        }

                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            if (reader.TokenType != JsonTokenType.StartObject)
                            {
                                return false;
                            }

                            var call = 0;
                            var seenInCall = Seen.None;
                            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                            {
                                if (!FirstTime(ref reader, ref seenInCall))
                                {
                                    return false;
                                }

                                if (reader.ValueTextEquals("index"u8))
                                {
                                    reader.Read();
                                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out call) || !ChatChunks.IsIndex(call))
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

                            calls.Add((0, call));
                        }
                    }
                    else if (reader.ValueTextEquals("function_call"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.Null)
                        {
                            reader.Skip();
                            calls.Add((0, -1));
                        }
                    }
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        for (var i = first; i < calls.Count; i++)
        {
            calls[i] = (index, calls[i].Call);
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }
}
