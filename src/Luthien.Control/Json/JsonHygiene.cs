using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace Luthien.Control;

/// <summary>
/// What JSON the library accepts from a client or a backend: the reader's own checks (syntax, nothing after the value,
/// depth, no duplicate property names) plus the two it leaves to the first string read — valid UTF-8 and no unpaired
/// surrogate escapes. Everything that passes here parses, and every string in it can be read, so a bad input is refused
/// where it enters instead of failing later in some policy (a 500) or being passed on unread.
/// </summary>
internal static class JsonHygiene
{
    /// <summary>
    /// How deep the library reads JSON: requests, buffered answers and stream events alike. System.Text.Json's own
    /// default, so a policy that deserializes a payload with default options never meets a deeper one.
    /// </summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// The most JSON tokens a body may hold. A parser keeps an index entry per token (12 bytes) in buffers that grow by
    /// doubling and go back to the shared pool, so a 10 MiB body of <c>[0,0,…]</c> (5 M tokens) costs well over 100 MB;
    /// no real chat request or answer comes near this bound.
    /// </summary>
    public const int MaxTokens = 1_000_000;

    /// <summary>Bodies smaller than this cannot hold <see cref="MaxTokens"/> tokens and are not counted.</summary>
    private const int CountTokensFrom = 1_000_000;

    /// <summary>
    /// Whether a body holds more than <see cref="MaxTokens"/> tokens, counted by a reader that allocates nothing, before
    /// any parser builds its index. Smaller bodies are not read here; a body that is not valid JSON is left to the parser
    /// to refuse.
    /// </summary>
    public static bool HasTooManyTokens(ReadOnlySpan<byte> json)
    {
        if (json.Length < CountTokensFrom)
        {
            return false;
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        var tokens = 0;
        try
        {
            while (reader.Read())
            {
                if (++tokens > MaxTokens)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Not valid JSON: the parse refuses it with its own reason.
        }

        return false;
    }

    /// <summary>The options every client or backend body is parsed with.</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaxDepth,
        AllowDuplicateProperties = false,
    };

    /// <summary>
    /// Whether the bytes are valid UTF-8 and every <c>\u</c> escape of a surrogate is half of a pair. The text must be
    /// syntactically valid JSON for the answer to mean anything (checked by the parse beside it): then every backslash
    /// starts an escape, so reading them from the left pairs them correctly. Both checks are vectorized searches; a body
    /// without backslashes costs one UTF-8 validation.
    /// </summary>
    public static bool HasValidText(ReadOnlySpan<byte> json)
    {
        if (!Utf8.IsValid(json))
        {
            return false;
        }

        var i = 0;
        while (true)
        {
            var next = json[i..].IndexOf((byte)'\\');
            if (next < 0)
            {
                return true;
            }

            i += next;
            if (i + 1 >= json.Length)
            {
                return false;
            }

            if (json[i + 1] != (byte)'u')
            {
                i += 2; // \\, \", \n…: the escaped byte is never the start of another escape
                continue;
            }

            if (!TryReadEscape(json, i, out var unit))
            {
                return false;
            }

            i += 6;
            if (unit is >= 0xDC00 and <= 0xDFFF)
            {
                return false; // a low half with no high half before it
            }

            if (unit is >= 0xD800 and <= 0xDBFF)
            {
                // A high half must be followed at once by a low half.
                if (!TryReadEscape(json, i, out var low) || low is < 0xDC00 or > 0xDFFF)
                {
                    return false;
                }

                i += 6;
            }
        }
    }

    private const string InvalidText = "the body is not valid UTF-8 or holds an unpaired surrogate escape.";

    /// <summary>
    /// Parses a body into a node by the library's rules: the token bound first, then the parser's syntax, depth and
    /// repeated-name checks, then what the parser leaves to the first string read (UTF-8, surrogate escapes), so that no
    /// later read of the node can fail. The one place requests and stream events are parsed.
    /// </summary>
    /// <param name="json">The bytes.</param>
    /// <param name="node">The node, when the result is <see cref="JsonFault.None"/>.</param>
    public static JsonFault ReadNode(ReadOnlySpan<byte> json, out JsonNode? node)
    {
        node = null;
        if (HasTooManyTokens(json))
        {
            return JsonFault.TooManyTokens;
        }

        try
        {
            node = JsonNode.Parse(json, documentOptions: DocumentOptions);
        }
        catch (JsonException)
        {
            return JsonFault.Syntax;
        }
        catch (InvalidOperationException)
        {
            // The duplicate-name check reads property names, and one with an unpaired surrogate escape cannot be read.
            return JsonFault.Text;
        }

        if (!HasValidText(json))
        {
            node = null;
            return JsonFault.Text;
        }

        return JsonFault.None;
    }

    /// <summary>
    /// Checks a buffered body the library must read: one JSON object, nothing after it, readable throughout. Returns why
    /// it is not, in words that hold no part of the body (a parser's message may quote a property name), or
    /// <see langword="null"/> when it is.
    /// </summary>
    public static string? ValidateObject(ReadOnlyMemory<byte> json)
    {
        if (HasTooManyTokens(json.Span))
        {
            return $"the body holds more than {MaxTokens} JSON tokens.";
        }

        try
        {
            // Over the caller's memory: only the parser's index is allocated (pooled), the bytes are not copied.
            using var document = JsonDocument.Parse(json, DocumentOptions);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return "the body is not a JSON object.";
            }
        }
        catch (InvalidOperationException)
        {
            // The duplicate-name check reads property names: one with an unpaired surrogate escape cannot be read.
            return InvalidText;
        }
        catch (JsonException)
        {
            return $"the body is not one valid JSON value (or it is nested deeper than {MaxDepth} levels, or repeats a property name).";
        }

        return HasValidText(json.Span) ? null : InvalidText;
    }

    /// <summary>Reads the code unit of a <c>\uXXXX</c> escape starting at <paramref name="at"/>.</summary>
    private static bool TryReadEscape(ReadOnlySpan<byte> json, int at, out int unit)
    {
        unit = 0;
        return at + 6 <= json.Length && json[at] == (byte)'\\' && json[at + 1] == (byte)'u' && TryHex(json.Slice(at + 2, 4), out unit);
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        foreach (var b in digits)
        {
            var d = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (d < 0)
            {
                return false;
            }

            value = (value << 4) | d;
        }

        return true;
    }
}

/// <summary>Why a body could not be read by the library's JSON rules.</summary>
internal enum JsonFault
{
    /// <summary>It was read.</summary>
    None,

    /// <summary>More than <see cref="JsonHygiene.MaxTokens"/> tokens.</summary>
    TooManyTokens,

    /// <summary>Not one JSON value, too deep, or a property name repeated.</summary>
    Syntax,

    /// <summary>Not valid UTF-8, or an unpaired surrogate escape.</summary>
    Text,
}
