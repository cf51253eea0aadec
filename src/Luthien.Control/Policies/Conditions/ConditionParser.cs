using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>Reads conditions in luthien_control's serialized form.</summary>
internal static class ConditionParser
{
    private static readonly Dictionary<string, ComparisonOperator> Comparisons = new(StringComparer.Ordinal)
    {
        ["equals"] = ComparisonOperator.Equals,
        ["not_equals"] = ComparisonOperator.NotEquals,
        ["contains"] = ComparisonOperator.Contains,
        ["regex_match"] = ComparisonOperator.RegexMatch,
        ["less_than"] = ComparisonOperator.LessThan,
        ["less_than_or_equal"] = ComparisonOperator.LessThanOrEqual,
        ["greater_than"] = ComparisonOperator.GreaterThan,
        ["greater_than_or_equal"] = ComparisonOperator.GreaterThanOrEqual,
    };

    /// <summary>The condition type names understood.</summary>
    public static IEnumerable<string> TypeNames => Comparisons.Keys.Concat(["all", "any", "not"]);

    /// <summary>Parses a condition from JSON text (the keys of <c>cond_to_policy_map</c>).</summary>
    /// <param name="json">The condition as JSON text.</param>
    /// <exception cref="FormatException">The text is not a valid condition; the message says which part.</exception>
    public static Condition Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"condition is not valid JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            return Parse(doc.RootElement, "condition");
        }
    }

    /// <summary>Parses a condition object.</summary>
    /// <param name="element">The condition object.</param>
    /// <param name="where">Where it stands, for error messages.</param>
    /// <exception cref="FormatException">It is not a valid condition.</exception>
    public static Condition Parse(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{where} must be an object.");
        }

        var type = element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "all":
            case "any":
                var conditions = ParseList(element, where);
                return type == "all" ? new AllCondition(conditions) : new AnyCondition(conditions);
            case "not":
                if (!element.TryGetProperty("cond", out var inner))
                {
                    throw new FormatException($"{where}: 'not' needs 'cond'.");
                }

                return new NotCondition(Parse(inner, $"{where}.cond"));
            case not null when Comparisons.TryGetValue(type, out var op):
                if (!element.TryGetProperty("left", out var left) || !element.TryGetProperty("right", out var right))
                {
                    throw new FormatException($"{where}: '{type}' needs 'left' and 'right'.");
                }

                try
                {
                    return new ComparisonCondition(op, ParseValue(left, $"{where}.left"), ParseValue(right, $"{where}.right"));
                }
                catch (ArgumentException ex)
                {
                    throw new FormatException($"{where}.right: {ex.Message}", ex);
                }

            default:
                throw new FormatException(
                    $"{where}: unknown condition type '{type}'. Known types: {string.Join(", ", TypeNames)}.");
        }
    }

    private static List<Condition> ParseList(JsonElement element, string where)
    {
        if (!element.TryGetProperty("conditions", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{where}: needs a 'conditions' array.");
        }

        var result = new List<Condition>();
        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            result.Add(Parse(item, $"{where}.conditions[{i++}]"));
        }

        return result;
    }

    /// <summary>
    /// Parses one side of a comparison: <c>{"type":"static","value":…}</c>, <c>{"type":"transaction_path","path":…}</c>,
    /// or any other JSON value, which is taken as a static value.
    /// </summary>
    /// <param name="element">The value.</param>
    /// <param name="where">Where it stands, for error messages.</param>
    public static ValueResolver ParseValue(JsonElement element, string where)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String)
        {
            switch (t.GetString())
            {
                case "static":
                    if (!element.TryGetProperty("value", out var value))
                    {
                        throw new FormatException($"{where}: a static value needs 'value'.");
                    }

                    return new StaticValue(JsonNode.Parse(value.GetRawText()));
                case "transaction_path":
                    if (!element.TryGetProperty("path", out var path) || path.ValueKind != JsonValueKind.String)
                    {
                        throw new FormatException($"{where}: a transaction_path needs a 'path' string.");
                    }

                    try
                    {
                        return new TransactionPathValue(path.GetString()!);
                    }
                    catch (ArgumentException ex)
                    {
                        throw new FormatException($"{where}: {ex.Message}", ex);
                    }

                default:
                    throw new FormatException($"{where}: unknown value type '{t.GetString()}' (expected 'static' or 'transaction_path').");
            }
        }

        return new StaticValue(JsonNode.Parse(element.GetRawText()));
    }
}
