namespace Luthien.Control;

/// <summary>How a <see cref="ComparisonCondition"/> compares its two values.</summary>
internal enum ComparisonOperator
{
    /// <summary><c>equals</c>: same JSON value (numbers compared by value).</summary>
    Equals,

    /// <summary><c>not_equals</c>.</summary>
    NotEquals,

    /// <summary><c>contains</c>: substring of a string, element of an array, or key of an object.</summary>
    Contains,

    /// <summary><c>regex_match</c>: the right value is a pattern found somewhere in the left string.</summary>
    RegexMatch,

    /// <summary><c>less_than</c>: numbers by value, strings ordinally.</summary>
    LessThan,

    /// <summary><c>less_than_or_equal</c>.</summary>
    LessThanOrEqual,

    /// <summary><c>greater_than</c>.</summary>
    GreaterThan,

    /// <summary><c>greater_than_or_equal</c>.</summary>
    GreaterThanOrEqual,
}
