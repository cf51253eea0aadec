using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.AI;

/// <summary>
/// Typed reads of a client's request JSON. A value of the wrong shape is a 400 <see cref="InvalidRequestException"/>
/// naming the field by its path (<c>messages[2].content</c>), never a value from it.
/// </summary>
internal static class RequestFields
{
    /// <summary>The error for a field that is not what it must be.</summary>
    /// <param name="path">The field's path.</param>
    /// <param name="requirement">What it must be, e.g. <c>must be a string</c>.</param>
    public static InvalidRequestException Invalid(string path, string requirement) => new($"'{path}' {requirement}.", path);

    /// <summary>A member that must be an object.</summary>
    public static JsonObject Object(JsonNode? node, string path) =>
        node as JsonObject ?? throw Invalid(path, "must be an object");

    /// <summary>A string member, or <see langword="null"/> when absent or null.</summary>
    public static string? OptionalString(JsonObject owner, string name, string path)
    {
        var node = owner[name];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : throw Invalid(path, "must be a string");
    }

    /// <summary>A string member that must be there.</summary>
    public static string RequiredString(JsonObject owner, string name, string path) =>
        OptionalString(owner, name, path) ?? throw Invalid(path, "is required and must be a string");

    /// <summary>A string member that must be there and not be blank (a role, a name, an id).</summary>
    public static string RequiredName(JsonObject owner, string name, string path)
    {
        var value = OptionalString(owner, name, path);
        return string.IsNullOrWhiteSpace(value) ? throw Invalid(path, "is required and must be a non-empty string") : value;
    }

    /// <summary>A number member, or <see langword="null"/> when absent or null.</summary>
    public static float? OptionalFloat(JsonObject owner, string name)
    {
        var node = owner[name];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && TryReal(value, out var number)
            && float.IsFinite((float)number)
            ? (float)number
            : throw Invalid(name, "must be a number");
    }

    /// <summary>An integer member, or <see langword="null"/> when absent or null.</summary>
    public static long? OptionalInteger(JsonObject owner, string name)
    {
        var node = owner[name];
        if (node is null)
        {
            return null;
        }

        return node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && TryInteger(value, out var number)
            ? number
            : throw Invalid(name, "must be an integer");
    }

    /// <summary>A boolean member, or <see langword="null"/> when absent or null.</summary>
    public static bool? OptionalBoolean(JsonObject owner, string name)
    {
        var node = owner[name];
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(name, "must be a boolean"),
        };
    }

    private static bool TryInteger(JsonValue value, out long number)
    {
        if (value.TryGetValue(out number))
        {
            return true;
        }

        if (value.TryGetValue(out int small))
        {
            number = small;
            return true;
        }

        return false;
    }

    /// <summary>A number, whether the node was parsed (an element) or built in code (a float, an int, …).</summary>
    private static bool TryReal(JsonValue value, out double number)
    {
        if (value.TryGetValue(out number))
        {
            return true;
        }

        if (value.TryGetValue(out float single))
        {
            // Widened exactly: the caller narrows it back to the same float.
            number = single;
            return true;
        }

        if (value.TryGetValue(out decimal exact))
        {
            number = (double)exact;
            return true;
        }

        if (TryInteger(value, out var whole))
        {
            number = whole;
            return true;
        }

        return false;
    }
}
