using System.Text.Json;

namespace Luthien.Control.Streaming.Text;

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
    public static bool TryScan(ReadOnlySpan<byte> json, List<ChoiceDelta> choices, out bool hasChoices)
    {
        choices.Clear();
        return TryWalkChoices(json, choices, TryReadChoice, out hasChoices);
    }

    /// <summary>
    /// Lists the tool-call fragments of a chunk as (choice index, call index) pairs; a legacy <c>function_call</c> is
    /// call -1. Gives up (returns false) on anything unexpected.
    /// </summary>
    public static bool TryScanToolCalls(ReadOnlySpan<byte> json, List<(int Choice, int Call)> calls)
    {
        calls.Clear();
        return TryWalkChoices(json, calls, TryReadChoiceCalls, out _);
    }

    private delegate bool ChoiceReader<in T>(ref Utf8JsonReader reader, T into);

    /// <summary>Finds the top-level <c>choices</c> array and hands each choice object to <paramref name="readChoice"/>.</summary>
    private static bool TryWalkChoices<T>(ReadOnlySpan<byte> json, T into, ChoiceReader<T> readChoice, out bool hasChoices)
    {
        hasChoices = false;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (!reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
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
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryReadChoice(ref Utf8JsonReader reader, List<ChoiceDelta> into)
    {
        var index = 0;
        string? content = null;
        string? finish = null;
        var other = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                finish = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("content"u8))
                    {
                        reader.Read();
                        content = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
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

    private static bool TryReadChoiceCalls(ref Utf8JsonReader reader, List<(int Choice, int Call)> calls)
    {
        var index = 0;
        var first = calls.Count; // the choice's index may come after its delta: filled in at the end
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out index))
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

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
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
                            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                            {
                                if (reader.ValueTextEquals("index"u8))
                                {
                                    reader.Read();
                                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out call))
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
