using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>Writes <see cref="ChatMessage"/>s as OpenAI chat-completions <c>messages</c>.</summary>
internal static class ChatMessageWriter
{
    /// <summary>The key of an image's <c>detail</c> (<c>low</c>, <c>high</c>, <c>auto</c>) in a content's additional properties.</summary>
    public const string DetailProperty = "detail";

    /// <summary>
    /// The <c>messages</c> array. <paramref name="instructions"/> (from <see cref="ChatOptions.Instructions"/>) comes first
    /// as a system message. Each <see cref="FunctionResultContent"/> becomes a <c>tool</c> message of its own, after the
    /// message that held it.
    /// </summary>
    /// <param name="messages">The messages.</param>
    /// <param name="instructions">Instructions to lead with, or <see langword="null"/>.</param>
    /// <param name="skipped">Incremented for each content the JSON cannot carry (and so policies do not see).</param>
    public static JsonArray Write(IEnumerable<ChatMessage> messages, string? instructions, ref int skipped)
    {
        var array = new JsonArray();
        if (!string.IsNullOrEmpty(instructions))
        {
            array.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        }

        foreach (var message in messages)
        {
            Write(array, message, ref skipped);
        }

        return array;
    }

    private static void Write(JsonArray array, ChatMessage message, ref int skipped)
    {
        var parts = new JsonArray();
        JsonArray? calls = null;
        List<FunctionResultContent>? results = null;
        var onlyText = true;
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent text:
                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = text.Text ?? string.Empty });
                    break;
                case FunctionCallContent call:
                    (calls ??= []).Add(Call(call));
                    break;
                case FunctionResultContent result:
                    (results ??= []).Add(result);
                    break;
                default:
                    if (Part(content) is { } part)
                    {
                        parts.Add(part);
                        onlyText = false;
                    }
                    else
                    {
                        skipped++;
                    }

                    break;
            }
        }

        // A message that held only function results is those results; any other message is written, even if the JSON
        // could carry none of its contents, so the conversation keeps its turns.
        if (parts.Count > 0 || calls is not null || results is null)
        {
            var json = new JsonObject { ["role"] = message.Role.Value };
            if (!string.IsNullOrEmpty(message.AuthorName))
            {
                json["name"] = message.AuthorName;
            }

            json["content"] = parts.Count switch
            {
                0 => calls is null ? string.Empty : null,
                1 when onlyText => parts[0]!["text"]!.DeepClone(),
                _ => parts,
            };
            if (calls is not null)
            {
                json["tool_calls"] = calls;
            }

            array.Add(json);
        }

        foreach (var result in results ?? [])
        {
            array.Add(new JsonObject
            {
                ["role"] = "tool",
                ["tool_call_id"] = result.CallId,
                ["content"] = ResultText(result.Result),
            });
        }
    }

    /// <summary>A <c>tool_calls</c> entry.</summary>
    public static JsonObject Call(FunctionCallContent call) => new()
    {
        ["id"] = call.CallId,
        ["type"] = "function",
        ["function"] = new JsonObject
        {
            ["name"] = call.Name,
            ["arguments"] = FunctionArguments.ToJson(call),
        },
    };

    private static JsonObject? Part(AIContent content)
    {
        switch (content)
        {
            case UriContent uri when uri.HasTopLevelMediaType("image"):
                return Image(uri.Uri.ToString(), uri);
            case DataContent data when data.HasTopLevelMediaType("image"):
                return Image(data.Uri, data);
            case DataContent data when data.HasTopLevelMediaType("audio"):
                return new JsonObject
                {
                    ["type"] = "input_audio",
                    ["input_audio"] = new JsonObject
                    {
                        ["data"] = data.Base64Data.ToString(),
                        ["format"] = AudioFormat(data.MediaType),
                    },
                };
            case DataContent data:
                var file = new JsonObject();
                if (data.Name is not null)
                {
                    file["filename"] = data.Name;
                }

                file["file_data"] = data.Uri;
                return new JsonObject { ["type"] = "file", ["file"] = file };
            case HostedFileContent hosted:
                return new JsonObject { ["type"] = "file", ["file"] = new JsonObject { ["file_id"] = hosted.FileId } };
            default:
                return null;
        }
    }

    private static JsonObject Image(string url, AIContent content)
    {
        var image = new JsonObject { ["url"] = url };
        if (content.AdditionalProperties?.TryGetValue(DetailProperty, out var detail) == true && detail is string text)
        {
            image["detail"] = text;
        }

        return new JsonObject { ["type"] = "image_url", ["image_url"] = image };
    }

    /// <summary>OpenAI's <c>input_audio.format</c> for a media type: <c>mp3</c> for MPEG audio, else the subtype (<c>wav</c>).</summary>
    public static string AudioFormat(string mediaType)
    {
        var subtype = mediaType[(mediaType.IndexOf('/', StringComparison.Ordinal) + 1)..].ToLowerInvariant();
        return subtype switch
        {
            "mpeg" or "mp3" => "mp3",
            "x-wav" or "wave" => "wav",
            _ => subtype,
        };
    }

    private static string ResultText(object? result)
    {
        switch (result)
        {
            case null:
                return string.Empty;
            case string text:
                return text;
            default:
                try
                {
                    return JsonSerializer.Serialize(result, WireJson.SerializerOptions.GetTypeInfo(result.GetType()));
                }
                catch (NotSupportedException)
                {
                    // A type the serializer cannot write: its text is the best the model can get.
                    return result.ToString() ?? string.Empty;
                }
        }
    }
}
