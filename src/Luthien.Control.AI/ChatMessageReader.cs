using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>Reads a client's chat-completions <c>messages</c> as <see cref="ChatMessage"/>s.</summary>
internal static class ChatMessageReader
{
    /// <summary>The messages of a request payload.</summary>
    /// <exception cref="InvalidRequestException">A message is not of a shape the chat-completions API accepts; the message names the field.</exception>
    public static List<ChatMessage> Read(JsonObject payload)
    {
        if (payload["messages"] is not JsonArray { Count: > 0 } array)
        {
            throw new InvalidRequestException("'messages' is required and must be a non-empty array.", "messages");
        }

        var messages = new List<ChatMessage>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            messages.Add(Message(RequestFields.Object(array[i], $"messages[{i}]"), $"messages[{i}]"));
        }

        return messages;
    }

    private static ChatMessage Message(JsonObject json, string path)
    {
        var roleName = RequestFields.RequiredName(json, "role", path + ".role");
        var role = roleName switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            _ => new ChatRole(roleName),
        };
        var message = new ChatMessage { Role = role, AuthorName = RequestFields.OptionalString(json, "name", path + ".name") };
        if (role == ChatRole.Tool)
        {
            var callId = RequestFields.OptionalString(json, "tool_call_id", path + ".tool_call_id")
                ?? throw RequestFields.Invalid(path + ".tool_call_id", "is required for a tool message and must be a string");
            message.Contents.Add(new FunctionResultContent(callId, ToolResult(json["content"], path + ".content")));
            return message;
        }

        AddContent(message.Contents, json["content"], path + ".content");
        if (RequestFields.OptionalString(json, "refusal", path + ".refusal") is { } refusal && message.Contents.Count == 0)
        {
            // M.E.AI has no refusal content; the model should still see what it answered before.
            message.Contents.Add(new TextContent(refusal));
        }

        if (json["tool_calls"] is { } calls)
        {
            if (calls is not JsonArray callArray)
            {
                throw RequestFields.Invalid(path + ".tool_calls", "must be an array");
            }

            for (var i = 0; i < callArray.Count; i++)
            {
                message.Contents.Add(Call(callArray[i], $"{path}.tool_calls[{i}]"));
            }
        }

        return message;
    }

    private static void AddContent(IList<AIContent> contents, JsonNode? content, string path)
    {
        switch (content)
        {
            case null:
                return;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                contents.Add(new TextContent(value.GetValue<string>()));
                return;
            case JsonArray parts:
                for (var i = 0; i < parts.Count; i++)
                {
                    contents.Add(Part(RequestFields.Object(parts[i], $"{path}[{i}]"), $"{path}[{i}]"));
                }

                return;
            default:
                throw RequestFields.Invalid(path, "must be a string, an array of content parts or null");
        }
    }

    private static AIContent Part(JsonObject part, string path)
    {
        var type = RequestFields.RequiredString(part, "type", path + ".type");
        switch (type)
        {
            case "text":
                return new TextContent(RequestFields.RequiredString(part, "text", path + ".text"));
            case "refusal":
                return new TextContent(RequestFields.RequiredString(part, "refusal", path + ".refusal"));
            case "image_url":
                return Image(RequestFields.Object(part["image_url"], path + ".image_url"), path + ".image_url");
            case "input_audio":
                return Audio(RequestFields.Object(part["input_audio"], path + ".input_audio"), path + ".input_audio");
            case "file":
                return File(RequestFields.Object(part["file"], path + ".file"), path + ".file");
            default:
                throw new InvalidRequestException($"'{path}.type' names a content part this backend cannot take: only text, refusal, image_url, input_audio and file are supported.", path + ".type");
        }
    }

    private static AIContent Image(JsonObject image, string path)
    {
        var url = RequestFields.RequiredString(image, "url", path + ".url");
        AIContent content;
        if (url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            content = DataUri(url, path + ".url");
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            content = new UriContent(uri, "image/*");
        }
        else
        {
            throw RequestFields.Invalid(path + ".url", "must be an absolute URL or a data URI");
        }

        if (RequestFields.OptionalString(image, "detail", path + ".detail") is { } detail)
        {
            content.AdditionalProperties = new() { [ChatMessageWriter.DetailProperty] = detail };
        }

        return content;
    }

    private static DataContent Audio(JsonObject audio, string path)
    {
        var data = RequestFields.RequiredString(audio, "data", path + ".data");
        var format = RequestFields.RequiredString(audio, "format", path + ".format");
        if (format.Length == 0 || !format.All(char.IsAsciiLetterOrDigit))
        {
            throw RequestFields.Invalid(path + ".format", "must name an audio format such as wav or mp3");
        }

        var bytes = new byte[data.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(data, bytes, out var length))
        {
            throw RequestFields.Invalid(path + ".data", "must be base64");
        }

        var mediaType = format.ToLowerInvariant() switch
        {
            "mp3" => "audio/mpeg",
            var other => "audio/" + other,
        };
        return new DataContent(bytes.AsMemory(0, length), mediaType);
    }

    private static AIContent File(JsonObject file, string path)
    {
        var name = RequestFields.OptionalString(file, "filename", path + ".filename");
        if (RequestFields.OptionalString(file, "file_data", path + ".file_data") is { } data)
        {
            var content = DataUri(data, path + ".file_data");
            content.Name = name;
            return content;
        }

        if (file["file_id"] is null)
        {
            throw RequestFields.Invalid(path, "must have a file_data or a file_id");
        }

        var id = RequestFields.RequiredName(file, "file_id", path + ".file_id");
        return new HostedFileContent(id) { Name = name };
    }

    private static DataContent DataUri(string uri, string path)
    {
        try
        {
            return new DataContent(uri);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
        {
            throw RequestFields.Invalid(path, "must be a valid base64 data URI with a media type");
        }
    }

    private static FunctionCallContent Call(JsonNode? node, string path)
    {
        var call = RequestFields.Object(node, path);
        var type = RequestFields.OptionalString(call, "type", path + ".type") ?? "function";
        if (type != "function")
        {
            throw new InvalidRequestException($"'{path}.type' must be \"function\": only function tool calls are supported.", path + ".type");
        }

        var id = RequestFields.RequiredString(call, "id", path + ".id");
        var function = RequestFields.Object(call["function"], path + ".function");
        var name = RequestFields.RequiredName(function, "name", path + ".function.name");
        var arguments = RequestFields.OptionalString(function, "arguments", path + ".function.arguments");
        return FunctionArguments.ToCall(id, name, arguments);
    }

    private static string ToolResult(JsonNode? content, string path)
    {
        switch (content)
        {
            case null:
                return string.Empty;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case JsonArray parts:
                // A tool message's parts can only be text; the result is their text, joined.
                var text = new StringBuilder();
                for (var i = 0; i < parts.Count; i++)
                {
                    var part = RequestFields.Object(parts[i], $"{path}[{i}]");
                    if (RequestFields.RequiredString(part, "type", $"{path}[{i}].type") != "text")
                    {
                        throw RequestFields.Invalid($"{path}[{i}].type", "must be \"text\" in a tool message");
                    }

                    text.Append(RequestFields.RequiredString(part, "text", $"{path}[{i}].text"));
                }

                return text.ToString();
            default:
                throw RequestFields.Invalid(path, "must be a string or an array of text parts");
        }
    }
}
