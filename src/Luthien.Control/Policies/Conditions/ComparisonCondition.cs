using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Luthien.Control;

/// <summary>
/// Compares two values (<c>equals</c>, <c>not_equals</c>, <c>contains</c>, <c>regex_match</c>, <c>less_than</c>,
/// <c>less_than_or_equal</c>, <c>greater_than</c>, <c>greater_than_or_equal</c>). Values of kinds that cannot be
/// ordered or searched make the condition false rather than failing the request.
/// </summary>
internal sealed class ComparisonCondition : Condition
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);
    private static readonly ConcurrentDictionary<string, Regex> DynamicPatterns = new(StringComparer.Ordinal);
    private readonly Regex? _staticPattern;

    /// <summary>Creates the condition.</summary>
    /// <param name="operator">How to compare.</param>
    /// <param name="left">The left value.</param>
    /// <param name="right">The right value (the pattern, for <see cref="ComparisonOperator.RegexMatch"/>).</param>
    /// <exception cref="ArgumentException">A static regex pattern is invalid.</exception>
    public ComparisonCondition(ComparisonOperator @operator, ValueResolver left, ValueResolver right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        Operator = @operator;
        Left = left;
        Right = right;
        if (@operator == ComparisonOperator.RegexMatch && right is StaticValue { Value: JsonValue v } && v.TryGetValue(out string? pattern))
        {
            try
            {
                _staticPattern = new Regex(pattern, RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"'{pattern}' is not a valid regular expression: {ex.Message}", nameof(right), ex);
            }
        }
    }

    /// <summary>How to compare.</summary>
    public ComparisonOperator Operator { get; }

    /// <summary>The left value.</summary>
    public ValueResolver Left { get; }

    /// <summary>The right value.</summary>
    public ValueResolver Right { get; }

    /// <inheritdoc />
    public override bool Evaluate(Transaction transaction)
    {
        var left = Left.Resolve(transaction);
        var right = Right.Resolve(transaction);
        return Operator switch
        {
            ComparisonOperator.Equals => ValuesEqual(left, right),
            ComparisonOperator.NotEquals => !ValuesEqual(left, right),
            ComparisonOperator.Contains => Contains(left, right),
            ComparisonOperator.RegexMatch => RegexMatch(left, right),
            ComparisonOperator.LessThan => Compare(left, right) is < 0,
            ComparisonOperator.LessThanOrEqual => Compare(left, right) is <= 0,
            ComparisonOperator.GreaterThan => Compare(left, right) is > 0,
            ComparisonOperator.GreaterThanOrEqual => Compare(left, right) is >= 0,
            _ => false,
        };
    }

    /// <summary>Whether two JSON values are equal; numbers compare by value, so <c>1</c> equals <c>1.0</c>.</summary>
    /// <param name="left">A value.</param>
    /// <param name="right">Another value.</param>
    public static bool ValuesEqual(JsonNode? left, JsonNode? right)
    {
        if (left is null || right is null)
        {
            return left is null && right is null;
        }

        if (TryNumber(left, out var l) && TryNumber(right, out var r))
        {
            return l == r;
        }

        return JsonNode.DeepEquals(left, right);
    }

    private static bool Contains(JsonNode? left, JsonNode? right) => left switch
    {
        JsonValue when TryString(left, out var haystack) => TryString(right, out var needle) && haystack.Contains(needle, StringComparison.Ordinal),
        JsonArray array => array.Any(item => ValuesEqual(item, right)),
        JsonObject obj => TryString(right, out var key) && obj.ContainsKey(key),
        _ => false,
    };

    private bool RegexMatch(JsonNode? left, JsonNode? right)
    {
        if (!TryString(left, out var target))
        {
            return false;
        }

        Regex? regex = _staticPattern;
        if (regex is null)
        {
            if (!TryString(right, out var pattern))
            {
                return false;
            }

            try
            {
                regex = DynamicPatterns.GetOrAdd(pattern, p => new Regex(p, RegexOptions.CultureInvariant, RegexTimeout));
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        try
        {
            return regex.IsMatch(target);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static int? Compare(JsonNode? left, JsonNode? right)
    {
        if (TryNumber(left, out var l) && TryNumber(right, out var r))
        {
            return l.CompareTo(r);
        }

        if (TryString(left, out var ls) && TryString(right, out var rs))
        {
            return string.CompareOrdinal(ls, rs);
        }

        return null;
    }

    private static bool TryNumber(JsonNode? node, out decimal value)
    {
        value = 0;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return false;
        }

        if (v.TryGetValue(out decimal d))
        {
            value = d;
            return true;
        }

        // Numbers outside decimal's range: fall back to double, saturating.
        if (double.TryParse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl))
        {
            value = dbl > (double)decimal.MaxValue ? decimal.MaxValue : dbl < (double)decimal.MinValue ? decimal.MinValue : (decimal)dbl;
            return true;
        }

        return false;
    }

    private static bool TryString(JsonNode? node, out string value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.TryGetValue(out string? s))
        {
            value = s;
            return true;
        }

        value = string.Empty;
        return false;
    }
}
