using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Converts a whole (non-streaming) answer between a <see cref="ChatResponse"/> and an OpenAI <c>chat.completion</c>.
/// </summary>
/// <remarks>
/// The completion's one choice holds what every message of the response says (normally one assistant message; with
/// function invocation running inside, also the calls already made), joined: the app gets all of them, so the policies
/// see all of them. Function results are not model output and are not in the JSON; they come back unchanged.
/// </remarks>
internal static class ChatResponseJson
{
    /// <summary>The <c>chat.completion</c> for a response.</summary>
    /// <param name="response">The response.</param>
    /// <param name="timeProvider">For <c>created</c> when the response has no <see cref="ChatResponse.CreatedAt"/>; the system clock when <see langword="null"/>.</param>
    /// <param name="requestedModel">The model the call asked for: <c>model</c> when the response names none (many chat clients never do).</param>
    public static JsonObject ToCompletion(ChatResponse response, TimeProvider? timeProvider = null, string? requestedModel = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        StringBuilder? text = null, refusal = null, reasoning = null;
        var calls = new JsonArray();
        foreach (var message in response.Messages)
        {
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent textContent:
                        (text ??= new()).Append(textContent.Text);
                        break;
                    case TextReasoningContent reasoningContent:
                        (reasoning ??= new()).Append(reasoningContent.Text);
                        break;
                    case ErrorContent error when WireTexts.IsRefusal(error):
                        (refusal ??= new()).Append(error.Message);
                        break;
                    case FunctionCallContent call:
                        calls.Add(ChatMessageWriter.Call(call));
                        break;
                }
            }
        }

        var choiceMessage = new JsonObject { ["role"] = "assistant", ["content"] = text?.ToString() };
        if (refusal is not null)
        {
            choiceMessage["refusal"] = refusal.ToString();
        }

        if (reasoning is not null)
        {
            choiceMessage["reasoning_content"] = reasoning.ToString();
        }

        if (calls.Count > 0)
        {
            choiceMessage["tool_calls"] = calls;
        }

        var completion = new JsonObject
        {
            ["id"] = response.ResponseId ?? WireJson.NewCompletionId(),
            ["object"] = "chat.completion",
            ["created"] = WireJson.UnixSeconds(response.CreatedAt, timeProvider ?? TimeProvider.System),
            ["model"] = response.ModelId ?? requestedModel ?? string.Empty,
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
    /// The response a <c>chat.completion</c> states. Text, refusal, reasoning, calls and the finish reason come from the
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
        var texts = message is null ? default : Texts(message);
        var calls = message is null ? [] : Calls(message);
        var finishReason = FinishReasons.FromWire(String(choice?["finish_reason"], "choices[0].finish_reason"));
        var usage = completion["usage"] is JsonObject usageNode ? UsageJson.FromNode(usageNode) : null;

        var messages = new List<ChatMessage>();
        var merger = new ContentMerger();
        if (original is null)
        {
            var only = new ChatMessage(ChatRole.Assistant, []);
            merger.Reset(texts, calls, usageCarried: false, null, []);
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

        merger.Reset(texts, calls, usageCarried: false, null, [.. original.Messages.Select(m => m.Contents)]);
        foreach (var source in original.Messages)
        {
            var copy = new ChatMessage(source.Role, [])
            {
                AuthorName = source.AuthorName,
                MessageId = source.MessageId,
                CreatedAt = source.CreatedAt,
            };
            merger.Map(source.Contents, copy.Contents);
            messages.Add(copy);
        }

        // What has no place goes into the last message, unless that is a function result's: then into one of its own.
        var rest = new List<AIContent>();
        merger.AppendRest(rest);
        if (messages.Count == 0 || (rest.Count > 0 && messages[^1].Role == ChatRole.Tool))
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, []));
        }

        foreach (var content in rest)
        {
            messages[^1].Contents.Add(content);
        }

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

    private static WireTexts Texts(JsonObject message)
    {
        var content = message["content"];
        string? text = content switch
        {
            null => null,
            JsonArray parts => string.Concat(parts.OfType<JsonObject>().Select(p => String(p["text"] ?? p["refusal"], "choices[0].message.content[].text"))),
            _ => String(content, "choices[0].message.content"),
        };
        return new WireTexts(
            text,
            String(message["refusal"], "choices[0].message.refusal") is { Length: > 0 } refusal ? refusal : null,
            String(message["reasoning_content"], "choices[0].message.reasoning_content"));
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
