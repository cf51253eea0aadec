using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>Maps <see cref="ChatOptions"/> to and from the option members of a chat-completions request.</summary>
internal static class ChatOptionsJson
{
    /// <summary>Members the converters read themselves; any other member of a request goes to <see cref="ChatOptions.AdditionalProperties"/>.</summary>
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal)
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop",
        "seed", "frequency_penalty", "presence_penalty", "response_format", "tools", "tool_choice", "parallel_tool_calls",
    };

    /// <summary>Writes the options' members into a payload (<c>model</c> excepted: the caller puts it first).</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="options">The options.</param>
    /// <param name="skipped">Incremented for each tool the JSON cannot carry (tools that are not functions).</param>
    public static void Write(JsonObject payload, ChatOptions options, ref int skipped)
    {
        SetIfValue(payload, "temperature", options.Temperature);
        SetIfValue(payload, "top_p", options.TopP);
        SetIfValue(payload, "max_tokens", options.MaxOutputTokens);
        if (options.StopSequences is { Count: > 0 } stop)
        {
            payload["stop"] = new JsonArray(stop.Select(s => (JsonNode?)s).ToArray());
        }

        SetIfValue(payload, "seed", options.Seed);
        SetIfValue(payload, "frequency_penalty", options.FrequencyPenalty);
        SetIfValue(payload, "presence_penalty", options.PresencePenalty);
        if (ResponseFormat(options.ResponseFormat) is { } format)
        {
            payload["response_format"] = format;
        }

        var tools = new JsonArray();
        foreach (var tool in options.Tools ?? [])
        {
            if (tool is AIFunctionDeclaration function)
            {
                tools.Add(Tool(function));
            }
            else
            {
                skipped++;
            }
        }

        if (tools.Count > 0)
        {
            payload["tools"] = tools;
        }

        if (ToolChoice(options.ToolMode) is { } choice)
        {
            payload["tool_choice"] = choice;
        }

        SetIfValue(payload, "parallel_tool_calls", options.AllowMultipleToolCalls);
    }

    /// <summary>The options a client's payload asks for.</summary>
    /// <exception cref="InvalidRequestException">A member is not of the shape the chat-completions API accepts.</exception>
    public static ChatOptions Read(JsonObject payload)
    {
        var options = new ChatOptions
        {
            ModelId = RequestFields.OptionalString(payload, "model", "model"),
            Temperature = RequestFields.OptionalFloat(payload, "temperature"),
            TopP = RequestFields.OptionalFloat(payload, "top_p"),
            MaxOutputTokens = ToInt(RequestFields.OptionalInteger(payload, "max_completion_tokens"), "max_completion_tokens")
                ?? ToInt(RequestFields.OptionalInteger(payload, "max_tokens"), "max_tokens"),
            Seed = RequestFields.OptionalInteger(payload, "seed"),
            FrequencyPenalty = RequestFields.OptionalFloat(payload, "frequency_penalty"),
            PresencePenalty = RequestFields.OptionalFloat(payload, "presence_penalty"),
            AllowMultipleToolCalls = RequestFields.OptionalBoolean(payload, "parallel_tool_calls"),
            StopSequences = Stop(payload["stop"]),
            ResponseFormat = payload["response_format"] is { } format ? ReadResponseFormat(RequestFields.Object(format, "response_format")) : null,
            ToolMode = payload["tool_choice"] is { } choice ? ReadToolChoice(choice) : null,
        };
        if (payload["tools"] is { } tools)
        {
            if (tools is not JsonArray array)
            {
                throw RequestFields.Invalid("tools", "must be an array");
            }

            options.Tools = [.. array.Select((tool, i) => (AITool)ReadTool(tool, $"tools[{i}]"))];
        }

        foreach (var (name, value) in payload)
        {
            if (!Known.Contains(name))
            {
                // Kept for a provider that knows the member (e.g. through its RawRepresentationFactory); JSON elements are immutable.
                (options.AdditionalProperties ??= [])[name] = value is null ? null : Element(value);
            }
        }

        return options;
    }

    private static void SetIfValue(JsonObject payload, string name, float? value)
    {
        if (value is { } v)
        {
            payload[name] = v;
        }
    }

    private static void SetIfValue(JsonObject payload, string name, long? value)
    {
        if (value is { } v)
        {
            payload[name] = v;
        }
    }

    private static void SetIfValue(JsonObject payload, string name, bool? value)
    {
        if (value is { } v)
        {
            payload[name] = v;
        }
    }

    private static JsonObject? ResponseFormat(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatText => new JsonObject { ["type"] = "text" },
        ChatResponseFormatJson { Schema: { } schema } json => new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = JsonSchemaObject(json, schema),
        },
        ChatResponseFormatJson => new JsonObject { ["type"] = "json_object" },
        _ => null,
    };

    private static JsonObject JsonSchemaObject(ChatResponseFormatJson json, JsonElement schema)
    {
        var node = new JsonObject { ["name"] = json.SchemaName ?? "json_schema" };
        if (json.SchemaDescription is not null)
        {
            node["description"] = json.SchemaDescription;
        }

        node["schema"] = JsonNode.Parse(schema.GetRawText());
        return node;
    }

    private static JsonObject Tool(AIFunctionDeclaration function)
    {
        var definition = new JsonObject { ["name"] = function.Name };
        if (!string.IsNullOrEmpty(function.Description))
        {
            definition["description"] = function.Description;
        }

        definition["parameters"] = function.JsonSchema.ValueKind == JsonValueKind.Undefined
            ? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() }
            : JsonNode.Parse(function.JsonSchema.GetRawText());
        return new JsonObject { ["type"] = "function", ["function"] = definition };
    }

    private static JsonNode? ToolChoice(ChatToolMode? mode) => mode switch
    {
        NoneChatToolMode => "none",
        AutoChatToolMode => "auto",
        RequiredChatToolMode { RequiredFunctionName: { } name } => new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name },
        },
        RequiredChatToolMode => "required",
        _ => null,
    };

    private static int? ToInt(long? value, string name) =>
        value is null ? null : value is >= 0 and <= int.MaxValue ? (int)value : throw RequestFields.Invalid(name, "must be a non-negative 32-bit integer");

    private static List<string>? Stop(JsonNode? stop)
    {
        switch (stop)
        {
            case null:
                return null;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return [value.GetValue<string>()];
            case JsonArray array:
                return [.. array.Select((item, i) => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
                    ? v.GetValue<string>()
                    : throw RequestFields.Invalid($"stop[{i}]", "must be a string"))];
            default:
                throw RequestFields.Invalid("stop", "must be a string or an array of strings");
        }
    }

    private static ChatResponseFormat ReadResponseFormat(JsonObject format)
    {
        switch (RequestFields.RequiredString(format, "type", "response_format.type"))
        {
            case "text":
                return ChatResponseFormat.Text;
            case "json_object":
                return ChatResponseFormat.Json;
            case "json_schema":
                var schema = RequestFields.Object(format["json_schema"], "response_format.json_schema");
                var name = RequestFields.OptionalString(schema, "name", "response_format.json_schema.name");
                var description = RequestFields.OptionalString(schema, "description", "response_format.json_schema.description");
                var body = schema["schema"] is { } s ? Element(RequestFields.Object(s, "response_format.json_schema.schema")) : (JsonElement?)null;
                try
                {
                    return new ChatResponseFormatJson(body, name, description);
                }
                catch (ArgumentException)
                {
                    throw RequestFields.Invalid("response_format.json_schema.name", "must hold only letters, digits, '_' and '-'");
                }
            default:
                throw RequestFields.Invalid("response_format.type", "must be text, json_object or json_schema");
        }
    }

    private static AIFunctionDeclaration ReadTool(JsonNode? node, string path)
    {
        var tool = RequestFields.Object(node, path);
        if ((RequestFields.OptionalString(tool, "type", path + ".type") ?? "function") != "function")
        {
            throw new InvalidRequestException($"'{path}.type' must be \"function\": only function tools are supported.", path + ".type");
        }

        var function = RequestFields.Object(tool["function"], path + ".function");
        var name = RequestFields.RequiredName(function, "name", path + ".function.name");
        var description = RequestFields.OptionalString(function, "description", path + ".function.description");
        var parameters = function["parameters"] is { } p
            ? Element(RequestFields.Object(p, path + ".function.parameters"))
            : Element(new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() });
        return AIFunctionFactory.CreateDeclaration(name, description, parameters);
    }

    private static ChatToolMode ReadToolChoice(JsonNode choice)
    {
        if (choice is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            return value.GetValue<string>() switch
            {
                "auto" => ChatToolMode.Auto,
                "none" => ChatToolMode.None,
                "required" => ChatToolMode.RequireAny,
                _ => throw RequestFields.Invalid("tool_choice", "must be auto, none, required or a function choice"),
            };
        }

        var named = RequestFields.Object(choice, "tool_choice");
        var function = RequestFields.Object(named["function"], "tool_choice.function");
        return ChatToolMode.RequireSpecific(RequestFields.RequiredName(function, "name", "tool_choice.function.name"));
    }

    private static JsonElement Element(JsonNode node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }
}
