using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Maps <see cref="UsageDetails"/> to and from OpenAI's <c>usage</c>: <c>prompt_tokens</c>, <c>completion_tokens</c>,
/// <c>total_tokens</c>, <c>prompt_tokens_details.cached_tokens</c> and <c>completion_tokens_details.reasoning_tokens</c>.
/// </summary>
internal static class UsageJson
{
    /// <summary>Writes the <c>usage</c> object (the property name already written). Missing counts are written as 0, as clients expect integers.</summary>
    public static void Write(Utf8JsonWriter writer, UsageDetails usage)
    {
        writer.WriteStartObject();
        writer.WriteNumber("prompt_tokens"u8, usage.InputTokenCount ?? 0);
        writer.WriteNumber("completion_tokens"u8, usage.OutputTokenCount ?? 0);
        writer.WriteNumber("total_tokens"u8, Total(usage));
        if (usage.CachedInputTokenCount is { } cached)
        {
            writer.WriteStartObject("prompt_tokens_details"u8);
            writer.WriteNumber("cached_tokens"u8, cached);
            writer.WriteEndObject();
        }

        if (usage.ReasoningTokenCount is { } reasoning)
        {
            writer.WriteStartObject("completion_tokens_details"u8);
            writer.WriteNumber("reasoning_tokens"u8, reasoning);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    /// <summary>The <c>usage</c> object as a node.</summary>
    public static JsonObject ToNode(UsageDetails usage)
    {
        var node = new JsonObject
        {
            ["prompt_tokens"] = usage.InputTokenCount ?? 0,
            ["completion_tokens"] = usage.OutputTokenCount ?? 0,
            ["total_tokens"] = Total(usage),
        };
        if (usage.CachedInputTokenCount is { } cached)
        {
            node["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached };
        }

        if (usage.ReasoningTokenCount is { } reasoning)
        {
            node["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = reasoning };
        }

        return node;
    }

    /// <summary>The usage a <c>usage</c> node states; counts that are absent or not integers stay unset.</summary>
    public static UsageDetails FromNode(JsonObject node) => new()
    {
        InputTokenCount = Integer(node["prompt_tokens"]),
        OutputTokenCount = Integer(node["completion_tokens"]),
        TotalTokenCount = Integer(node["total_tokens"]),
        CachedInputTokenCount = Integer((node["prompt_tokens_details"] as JsonObject)?["cached_tokens"]),
        ReasoningTokenCount = Integer((node["completion_tokens_details"] as JsonObject)?["reasoning_tokens"]),
    };

    /// <summary>Reads a <c>usage</c> object; the reader is on its <see cref="JsonTokenType.StartObject"/> and ends on its end.</summary>
    public static UsageDetails Read(ref Utf8JsonReader reader)
    {
        var usage = new UsageDetails();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                usage.InputTokenCount = ReadInteger(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                usage.OutputTokenCount = ReadInteger(ref reader);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                usage.TotalTokenCount = ReadInteger(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                usage.CachedInputTokenCount = ReadDetail(ref reader, "cached_tokens"u8);
            }
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                usage.ReasoningTokenCount = ReadDetail(ref reader, "reasoning_tokens"u8);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return usage;
    }

    /// <summary>Whether two usages write the same JSON, so the original (with its additional counts) can be kept.</summary>
    public static bool SameCounts(UsageDetails a, UsageDetails b) =>
        (a.InputTokenCount ?? 0) == (b.InputTokenCount ?? 0)
        && (a.OutputTokenCount ?? 0) == (b.OutputTokenCount ?? 0)
        && Total(a) == Total(b)
        && a.CachedInputTokenCount == b.CachedInputTokenCount
        && a.ReasoningTokenCount == b.ReasoningTokenCount;

    private static long Total(UsageDetails usage) =>
        usage.TotalTokenCount ?? ((usage.InputTokenCount ?? 0) + (usage.OutputTokenCount ?? 0));

    private static long? Integer(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue(out long n) ? n : null;

    private static long? ReadInteger(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n))
        {
            return n;
        }

        reader.Skip();
        return null;
    }

    private static long? ReadDetail(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        long? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(name))
            {
                value = ReadInteger(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return value;
    }
}
