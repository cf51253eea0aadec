using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Luthien.Control.AspNetCore;

/// <summary>Reads the audit log's JSON leniently (every field optional) and shows it as highlighted, indented HTML.</summary>
internal static class AdminJson
{
    /// <summary>Deep enough for any body the library accepts; a deeper one is shown as text.</summary>
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 256 };

    /// <summary>A short array of scalars this long or less stays on one line.</summary>
    private const int InlineChars = 72;

    /// <summary>Parses stored JSON; <see langword="null"/> when there is none or it is not JSON.</summary>
    /// <param name="json">The text.</param>
    public static JsonDocument? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(json, ReadOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A member of an object, if the element is an object that has it (and it is not <c>null</c>).</summary>
    public static JsonElement? Get(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    /// <summary>A member as text: a string as it is, a number or boolean as written.</summary>
    public static string? GetText(this JsonElement element, string name) => element.Get(name) switch
    {
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } value => value.GetRawText(),
        _ => null,
    };

    /// <summary>A member as a number.</summary>
    public static double? GetNumber(this JsonElement element, string name) =>
        element.Get(name) is { ValueKind: JsonValueKind.Number } value && value.TryGetDouble(out var number) ? number : null;

    /// <summary>A member as an integer.</summary>
    public static long? GetInteger(this JsonElement element, string name) =>
        element.Get(name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt64(out var number) ? number : null;

    /// <summary>A member as a boolean.</summary>
    public static bool? GetBoolean(this JsonElement element, string name) => element.Get(name)?.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>The JSON, indented, with keys, strings, numbers and literals marked for colouring; every value encoded.</summary>
    /// <param name="element">The JSON.</param>
    public static RawHtml ToHtml(JsonElement element)
    {
        var html = new AdminHtml();
        Write(html, element, 0);
        return html.ToHtml();
    }

    /// <summary>Stored text shown as JSON when it is JSON, else as plain text; both encoded.</summary>
    /// <param name="text">The stored text.</param>
    public static RawHtml ToHtml(string? text)
    {
        using var document = Parse(text);
        return document is null ? new AdminHtml().Text(text).ToHtml() : ToHtml(document.RootElement);
    }

    private static void Write(AdminHtml html, JsonElement element, int depth)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (!element.EnumerateObject().Any())
                {
                    html.Append($"{{}}");
                    break;
                }

                html.Append($"{{");
                var firstMember = true;
                foreach (var member in element.EnumerateObject())
                {
                    html.Append($"{(firstMember ? RawHtml.Empty : new RawHtml(","))}\n{new RawHtml(new string(' ', (depth + 1) * 2))}<span class=\"jk\">{Quote(member.Name)}</span>: ");
                    Write(html, member.Value, depth + 1);
                    firstMember = false;
                }

                html.Append($"\n{new RawHtml(new string(' ', depth * 2))}}}");
                break;

            case JsonValueKind.Array:
                if (element.GetArrayLength() == 0)
                {
                    html.Append($"[]");
                    break;
                }

                if (IsShortScalarArray(element))
                {
                    html.Append($"[");
                    var firstInline = true;
                    foreach (var item in element.EnumerateArray())
                    {
                        html.Append($"{(firstInline ? RawHtml.Empty : new RawHtml(", "))}");
                        Write(html, item, depth + 1);
                        firstInline = false;
                    }

                    html.Append($"]");
                    break;
                }

                html.Append($"[");
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    html.Append($"{(firstItem ? RawHtml.Empty : new RawHtml(","))}\n{new RawHtml(new string(' ', (depth + 1) * 2))}");
                    Write(html, item, depth + 1);
                    firstItem = false;
                }

                html.Append($"\n{new RawHtml(new string(' ', depth * 2))}]");
                break;

            case JsonValueKind.String:
                html.Append($"<span class=\"js\">{Quote(element.GetString() ?? string.Empty)}</span>");
                break;

            case JsonValueKind.Number:
                html.Append($"<span class=\"jn\">{element.GetRawText()}</span>");
                break;

            default:
                html.Append($"<span class=\"jl\">{element.GetRawText()}</span>");
                break;
        }
    }

    private static bool IsShortScalarArray(JsonElement array)
    {
        var length = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                return false;
            }

            length += item.GetRawText().Length + 2;
            if (length > InlineChars)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A string as a JSON literal (quotes, escapes); the caller's handler HTML-encodes it.</summary>
    private static string Quote(string value) =>
        "\"" + JsonEncodedText.Encode(value, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString() + "\"";

    /// <summary>Formats a count with thousands separators.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
