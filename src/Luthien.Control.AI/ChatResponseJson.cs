using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Converts a whole (non-streaming) answer between a <see cref="ChatResponse"/> and an OpenAI <c>chat.completion</c>.
/// </summary>
/// <remarks>
/// The completion's one choice is the response's trailing run of model messages: its last messages whose role is not
/// <c>tool</c> (normally one assistant message). Earlier messages (calls already made and their results, when function
/// invocation runs inside) are not in the JSON, so policies do not see them; they come back unchanged.
/// </remarks>
internal static class ChatResponseJson
{
    /// <summary>The <c>chat.completion</c> for a response.</summary>
    /// <param name="response">The response.</param>
    /// <param name="timeProvider">For <c>created</c> when the response has no <see cref="ChatResponse.CreatedAt"/>; the system clock when <see langword="null"/>.</param>
    public static JsonObject ToCompletion(ChatResponse response, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        string? text = null;
        var calls = new JsonArray();
        foreach (var message in TrailingRun(response.Messages))
        {
            foreach (var content in message.Contents)
            {
                if (content is TextContent textContent)
                {
                    text = (text ?? string.Empty) + textContent.Text;
                }
                else if (content is FunctionCallContent call)
                {
                    calls.Add(ChatMessageWriter.Call(call));
                }
            }
        }

        var choiceMessage = new JsonObject { ["role"] = "assistant", ["content"] = text };
        if (calls.Count > 0)
        {
            choiceMessage["tool_calls"] = calls;
        }

        var completion = new JsonObject
        {
            ["id"] = response.ResponseId ?? WireJson.NewCompletionId(),
            ["object"] = "chat.completion",
            ["created"] = WireJson.UnixSeconds(response.CreatedAt, timeProvider ?? TimeProvider.System),
            ["model"] = response.ModelId ?? string.Empty,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = choiceMessage,
                ["logprobs"] = null,
                ["finish_reason"] = response.FinishReason is { } reason
                    ? FinishReasons.ToWire(reason, calls.Count > 0)
                    : calls.Count > 0 ? "tool_calls" : "stop",
            }),
        };
        if (response.Usage is { } usage)
        {
            completion["usage"] = UsageJson.ToNode(usage);
        }

        return completion;
    }

    /// <summary>
    /// The response a <c>chat.completion</c> states. Text, refusal (as text), calls and the finish reason come from the
    /// JSON. With <paramref name="original"/>, its ids, model, time and usage are kept, and so is every content the JSON
    /// cannot carry, in its place (see <see cref="ContentMerger"/>); the response and its messages have no raw
    /// representation or additional properties.
    /// </summary>
    /// <param name="completion">The completion, after policies ran.</param>
    /// <param name="original">The response the completion was made from, or <see langword="null"/>; consumed.</param>
    /// <exception cref="InvalidOperationException">The completion is not of a chat completion's shape.</exception>
    public static ChatResponse ToResponse(JsonObject completion, ChatResponse? original)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var choice = FirstChoice(completion);
        var message = choice?["message"] as JsonObject;
        var text = message is null ? null : Text(message);
        var calls = message is null ? [] : Calls(message);
        var finishReason = FinishReasons.FromWire(String(choice?["finish_reason"], "choices[0].finish_reason"));
        var usage = completion["usage"] is JsonObject usageNode ? UsageJson.FromNode(usageNode) : null;

        var messages = new List<ChatMessage>();
        var merger = new ContentMerger();
        if (original is null)
        {
            var only = new ChatMessage(ChatRole.Assistant, []);
            merger.Reset(text, calls, usageCarried: false, null, []);
            merger.AppendRest(only.Contents);
            messages.Add(only);
            return new ChatResponse(messages)
            {
                ResponseId = String(completion["id"], "id"),
                ModelId = WireJson.ModelOrNull(String(completion["model"], "model")),
                CreatedAt = completion["created"] is JsonValue created && created.TryGetValue(out long seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null,
                FinishReason = finishReason,
                Usage = usage,
            };
        }

        var run = TrailingRun(original.Messages);
        var firstOfRun = original.Messages.Count - run.Count;
        merger.Reset(text, calls, usageCarried: false, null, run.Select(m => m.Contents));
        for (var i = 0; i < original.Messages.Count; i++)
        {
            var source = original.Messages[i];
            var copy = new ChatMessage(source.Role, [])
            {
                AuthorName = source.AuthorName,
                MessageId = source.MessageId,
                CreatedAt = source.CreatedAt,
            };
            if (i >= firstOfRun)
            {
                merger.Map(source.Contents, copy.Contents);
            }
            else
            {
                foreach (var content in source.Contents)
                {
                    content.RawRepresentation = null;
                    content.AdditionalProperties = null;
                    copy.Contents.Add(content);
                }
            }

            messages.Add(copy);
        }

        if (run.Count == 0)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, []));
        }

        merger.AppendRest(messages[^1].Contents);
        return new ChatResponse(messages)
        {
            ResponseId = original.ResponseId,
            ConversationId = original.ConversationId,
            ModelId = original.ModelId,
            CreatedAt = original.CreatedAt,
            Usage = original.Usage ?? usage,
            FinishReason = finishReason,
        };
    }

    /// <summary>The last messages whose role is not <c>tool</c>: what the model said last.</summary>
    private static List<ChatMessage> TrailingRun(IList<ChatMessage> messages)
    {
        var start = messages.Count;
        while (start > 0 && messages[start - 1].Role != ChatRole.Tool)
        {
            start--;
        }

        return [.. messages.Skip(start)];
    }

    private static JsonObject? FirstChoice(JsonObject completion)
    {
        if (completion["choices"] is not { } choices)
        {
            return null;
        }

        if (choices is not JsonArray array)
        {
            throw Invalid("choices", "an array");
        }

        // An M.E.AI response has one choice; index 0 is it.
        return array.OfType<JsonObject>().FirstOrDefault(c => c["index"] is null || (c["index"] is JsonValue v && v.TryGetValue(out int i) && i == 0));
    }

    private static string? Text(JsonObject message)
    {
        var content = message["content"];
        string? text = content switch
        {
            null => null,
            JsonArray parts => string.Concat(parts.OfType<JsonObject>().Select(p => String(p["text"] ?? p["refusal"], "choices[0].message.content[].text"))),
            _ => String(content, "choices[0].message.content"),
        };
        if (String(message["refusal"], "choices[0].message.refusal") is { Length: > 0 } refusal)
        {
            // M.E.AI has no refusal content: the app reads the refusal as the answer's text.
            text = text is null ? refusal : new StringBuilder(text).Append(refusal).ToString();
        }

        return text;
    }

    private static List<WireCall> Calls(JsonObject message)
    {
        var calls = new List<WireCall>();
        if (message["tool_calls"] is not { } node)
        {
            return calls;
        }

        if (node is not JsonArray array)
        {
            throw Invalid("choices[0].message.tool_calls", "an array");
        }

        for (var i = 0; i < array.Count; i++)
        {
            var path = $"choices[0].message.tool_calls[{i}]";
            if (array[i] is not JsonObject { } call || call["function"] is not JsonObject function)
            {
                throw Invalid(path, "a function call");
            }

            calls.Add(new WireCall(
                String(call["id"], path + ".id") ?? WireJson.NewCallId(),
                String(function["name"], path + ".function.name") ?? throw Invalid(path + ".function.name", "a string"),
                String(function["arguments"], path + ".function.arguments") ?? string.Empty));
        }

        return calls;
    }

    private static string? String(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue value when value.GetValueKind() == JsonValueKind.String => value.GetValue<string>(),
        _ => throw Invalid(path, "a string"),
    };

    private static InvalidOperationException Invalid(string path, string what) =>
        new($"The chat completion is not one the library can read: '{path}' is not {what}.");
}
