using System.Text.Json;

namespace Luthien.Control.Streaming;

/// <summary>
/// The common Responses event, a delta of text, read without a JSON tree: its type, where it belongs, its sequence
/// number and its text. Anything unusual (an escaped value, a member named twice, a shape it does not expect) is left to
/// the tree, which reads every event and refuses what it must.
/// </summary>
internal static class ResponsesEventScanner
{
    public static bool TryScan(ReadOnlySpan<byte> data, ResponsesEventList header)
    {
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var seen = 0;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    // One object and nothing after it; a type, an item and a delta at least.
                    return !reader.Read() && (seen & (Type | Output | Delta)) == (Type | Output | Delta);
                }

                if (reader.TokenType != JsonTokenType.PropertyName || reader.ValueIsEscaped)
                {
                    return false;
                }

                var summary = reader.ValueTextEquals("summary_index"u8);
                var member = reader.ValueTextEquals("type"u8) ? Type
                    : reader.ValueTextEquals("delta"u8) ? Delta
                    : reader.ValueTextEquals("output_index"u8) ? Output
                    : reader.ValueTextEquals("content_index"u8) || reader.ValueTextEquals("summary_index"u8) ? Part
                    : reader.ValueTextEquals("sequence_number"u8) ? Sequence
                    : reader.ValueTextEquals("luthien.slot"u8) || reader.ValueTextEquals("luthien.before"u8) || reader.ValueTextEquals("luthien.after"u8) || reader.ValueTextEquals("luthien.dropped"u8) ? -1
                    : 0;
                if (member < 0 || (member != 0 && (seen & member) != 0) || !reader.Read())
                {
                    return false;
                }

                seen |= member;
                switch (member)
                {
                    case Type:
                        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || DeltaOf(ref reader) is not { } piece)
                        {
                            // Not a delta: the tree reads it.
                            return false;
                        }

                        header.Piece = piece;
                        break;
                    case Delta:
                        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
                        {
                            return false;
                        }

                        header.Delta = reader.GetString();
                        break;
                    case Output:
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var output) || output < 0)
                        {
                            return false;
                        }

                        header.OutputIndex = output;
                        break;
                    case Part:
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var part) || part < 0)
                        {
                            return false;
                        }

                        header.Part = part;
                        header.PartIsSummary = summary;
                        break;
                    case Sequence:
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var sequence))
                        {
                            return false;
                        }

                        header.Sequence = sequence;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not well-formed, or text that is not valid UTF-8: the tree reads it, and refuses it.
        }

        return false;
    }

    /// <summary>Which part's text a delta event type carries, compared on the bytes (no string made per event).</summary>
    private static (PartFamily Family, OutputKind Kind, bool Custom)? DeltaOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("response.output_text.delta"u8) ? (PartFamily.Content, OutputKind.Text, false)
        : reader.ValueTextEquals("response.function_call_arguments.delta"u8) ? (PartFamily.Call, OutputKind.ToolArguments, false)
        : reader.ValueTextEquals("response.reasoning_summary_text.delta"u8) ? (PartFamily.Summary, OutputKind.Reasoning, false)
        : reader.ValueTextEquals("response.refusal.delta"u8) ? (PartFamily.Content, OutputKind.Refusal, false)
        : reader.ValueTextEquals("response.reasoning_text.delta"u8) ? (PartFamily.Content, OutputKind.Reasoning, false)
        : reader.ValueTextEquals("response.custom_tool_call_input.delta"u8) ? (PartFamily.Call, OutputKind.ToolArguments, true)
        : null;

    private const int Type = 1;
    private const int Delta = 2;
    private const int Output = 4;
    private const int Part = 8;
    private const int Sequence = 16;
}

/// <summary>A Responses event's output events, with what the scanner read of it (for the finisher, without a tree).</summary>
internal sealed class ResponsesEventList : OutputList
{
    /// <summary>Which part's text the delta carries.</summary>
    public (PartFamily Family, OutputKind Kind, bool Custom) Piece { get; set; }

    public string? Delta { get; set; }

    public int OutputIndex { get; set; } = -1;

    /// <summary>The <c>content_index</c> or <c>summary_index</c>; -1 when the event has neither.</summary>
    public int Part { get; set; } = -1;

    /// <summary>Whether <see cref="Part"/> was a <c>summary_index</c>.</summary>
    public bool PartIsSummary { get; set; }

    public long Sequence { get; set; } = -1;
}
