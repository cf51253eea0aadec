using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// What the library reads of a policed request's body, per API: the field that must be there, the texts the client sends
/// the model, and the default path. The JSON itself is never rewritten here.
/// </summary>
internal static class RequestPayloads
{
    /// <summary>The path below the route prefix that calls an API, as OpenAI spells it.</summary>
    public static string DefaultPath(RequestKind kind) => kind switch
    {
        RequestKind.ChatCompletion => "chat/completions",
        RequestKind.Responses => "responses",
        RequestKind.Completion => "completions",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "A pass-through request has no parsed body."),
    };

    /// <summary>Parses a body: one JSON object by the library's rules, with the field its API requires.</summary>
    /// <exception cref="InvalidRequestException">The body is not valid (status 400, code <c>invalid_request</c>).</exception>
    public static JsonObject Parse(RequestKind kind, ReadOnlySpan<byte> utf8Json)
    {
        var fault = JsonHygiene.ReadNode(utf8Json, out var node);
        if (fault != JsonFault.None)
        {
            throw new InvalidRequestException(fault switch
            {
                JsonFault.TooManyTokens => $"The request body holds more than {JsonHygiene.MaxTokens} JSON tokens.",
                JsonFault.Text => "The request body is not valid UTF-8 or holds an unpaired surrogate escape.",
                _ => $"The request body is not valid JSON (a single value, at most {JsonHygiene.MaxDepth} levels deep, no property name repeated).",
            });
        }

        if (node is not JsonObject payload)
        {
            throw new InvalidRequestException("The request body must be a JSON object.");
        }

        switch (kind)
        {
            case RequestKind.ChatCompletion:
                if (payload["messages"] is not JsonArray { Count: > 0 })
                {
                    throw new InvalidRequestException("'messages' is required and must be a non-empty array.", param: "messages");
                }

                break;
            case RequestKind.Responses:
                if (!IsNonEmptyStringOrArray(payload["input"]))
                {
                    throw new InvalidRequestException("'input' is required and must be a non-empty string or a non-empty array of items.", param: "input");
                }

                break;
            case RequestKind.Completion:
                if (!IsNonEmptyStringOrArray(payload["prompt"]))
                {
                    throw new InvalidRequestException("'prompt' is required and must be a non-empty string or a non-empty array.", param: "prompt");
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "A pass-through request has no parsed body.");
        }

        if (payload["stream"] is JsonNode stream && stream.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            throw new InvalidRequestException("'stream' must be a boolean.", param: "stream");
        }

        return payload;
    }

    /// <summary>Every text the client sends the model in a body of this API.</summary>
    public static IEnumerable<string> EnumerateTexts(RequestKind kind, JsonObject payload) => kind switch
    {
        RequestKind.ChatCompletion => ChatTexts(payload),
        RequestKind.Responses => ResponsesTexts(payload),
        RequestKind.Completion => CompletionTexts(payload),
        _ => [],
    };

    /// <summary>How many messages, input items or prompts the body holds (a string counts as one); for logs.</summary>
    public static int CountInputs(RequestKind kind, JsonObject payload) =>
        (kind switch
        {
            RequestKind.ChatCompletion => payload["messages"],
            RequestKind.Responses => payload["input"],
            RequestKind.Completion => payload["prompt"],
            _ => null,
        }) switch
        {
            JsonArray array => array.Count,
            JsonValue => 1,
            _ => 0,
        };

    private static bool IsNonEmptyStringOrArray(JsonNode? node) => node switch
    {
        JsonArray array => array.Count > 0,
        JsonValue value => value.TryGetValue(out string? text) && text.Length > 0,
        _ => false,
    };

    /// <summary>Chat: every message's <c>content</c>, a string or the <c>text</c> of its parts.</summary>
    private static IEnumerable<string> ChatTexts(JsonObject payload)
    {
        if (payload["messages"] is not JsonArray messages)
        {
            yield break;
        }

        foreach (var message in messages)
        {
            if (message is JsonObject m)
            {
                foreach (var text in Content(m["content"]))
                {
                    yield return text;
                }
            }
        }
    }

    /// <summary>
    /// Responses: <c>instructions</c>, and <c>input</c> as a string or as items: a message's content (a string or parts
    /// such as <c>input_text</c> / <c>output_text</c>), a tool call's output (a string or parts), and what earlier turns
    /// sent back (function call arguments, custom tool input, reasoning summaries).
    /// </summary>
    private static IEnumerable<string> ResponsesTexts(JsonObject payload)
    {
        if (AsString(payload["instructions"]) is { } instructions)
        {
            yield return instructions;
        }

        switch (payload["input"])
        {
            case JsonValue value when value.TryGetValue(out string? text):
                yield return text;
                break;
            case JsonArray items:
                foreach (var item in items)
                {
                    if (item is not JsonObject i)
                    {
                        continue;
                    }

                    foreach (var text in Content(i["content"]).Concat(Content(i["output"])).Concat(Content(i["summary"])))
                    {
                        yield return text;
                    }

                    if (AsString(i["arguments"]) is { } arguments)
                    {
                        yield return arguments;
                    }

                    if (AsString(i["input"]) is { } input)
                    {
                        yield return input;
                    }
                }

                break;
        }
    }

    /// <summary>Legacy completions: <c>prompt</c> (a string or strings; token arrays are not text) and <c>suffix</c>.</summary>
    private static IEnumerable<string> CompletionTexts(JsonObject payload)
    {
        switch (payload["prompt"])
        {
            case JsonValue value when value.TryGetValue(out string? text):
                yield return text;
                break;
            case JsonArray prompts:
                foreach (var prompt in prompts)
                {
                    if (AsString(prompt) is { } text)
                    {
                        yield return text;
                    }
                }

                break;
        }

        if (AsString(payload["suffix"]) is { } suffix)
        {
            yield return suffix;
        }
    }

    /// <summary>A content value: a string, or parts whose <c>text</c> (or <c>refusal</c>) is a string.</summary>
    private static IEnumerable<string> Content(JsonNode? content)
    {
        switch (content)
        {
            case JsonValue value when value.TryGetValue(out string? text):
                yield return text;
                break;
            case JsonArray parts:
                foreach (var part in parts)
                {
                    if (part is not JsonObject p)
                    {
                        continue;
                    }

                    if (AsString(p["text"]) is { } text)
                    {
                        yield return text;
                    }

                    if (AsString(p["refusal"]) is { } refusal)
                    {
                        yield return refusal;
                    }
                }

                break;
        }
    }

    private static string? AsString(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
