using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Luthien.Control.Sample;

/// <summary>The echo backend's Responses API and legacy completion answers, shaped as OpenAI sends them.</summary>
internal static class EchoResponses
{
    /// <summary>Answers <c>POST /v1/responses</c> with the text of the last user input.</summary>
    public static HttpResponseMessage Answer(JsonObject body)
    {
        var model = body["model"]?.GetValue<string>() ?? "echo";
        var text = LastInputText(body["input"]);
        var id = "resp_echo" + Guid.NewGuid().ToString("N")[..24];
        var messageId = "msg_echo" + Guid.NewGuid().ToString("N")[..24];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var inputTokens = EchoBackend.CountTokens((body["input"]?.ToJsonString() ?? string.Empty) + (body["instructions"]?.ToJsonString() ?? string.Empty));
        var outputTokens = EchoBackend.CountTokens(text);
        JsonObject Usage() => new() { ["input_tokens"] = inputTokens, ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 }, ["output_tokens"] = outputTokens, ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 }, ["total_tokens"] = inputTokens + outputTokens };
        JsonObject Part(string partText) => new() { ["type"] = "output_text", ["text"] = partText, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };
        JsonObject Item(string status, JsonArray content) => new() { ["id"] = messageId, ["type"] = "message", ["status"] = status, ["content"] = content, ["role"] = "assistant" };
        JsonObject Response(string status, JsonArray output, JsonObject? usage) => new()
        {
            ["id"] = id, ["object"] = "response", ["created_at"] = created, ["status"] = status, ["error"] = null, ["incomplete_details"] = null,
            ["instructions"] = body["instructions"]?.DeepClone(), ["model"] = model, ["output"] = output, ["parallel_tool_calls"] = true,
            ["previous_response_id"] = null, ["store"] = false, ["temperature"] = 1.0, ["tool_choice"] = "auto", ["tools"] = new JsonArray(),
            ["top_p"] = 1.0, ["truncation"] = "disabled", ["usage"] = usage, ["metadata"] = new JsonObject(),
        };

        if (body["stream"] is not JsonValue s || !s.GetValue<bool>())
        {
            return EchoBackend.Json(HttpStatusCode.OK, Response("completed", [Item("completed", [Part(text)])], Usage()).ToJsonString());
        }

        var sse = new StringBuilder();
        var sequence = 0;
        void Event(string type, JsonObject fields)
        {
            var json = new JsonObject { ["type"] = type, ["sequence_number"] = sequence++ };
            foreach (var (name, value) in fields.ToList())
            {
                fields.Remove(name);
                json[name] = value;
            }

            sse.Append("event: ").Append(type).Append('\n').Append("data: ").Append(json.ToJsonString()).Append("\n\n");
        }

        Event("response.created", new() { ["response"] = Response("in_progress", [], null) });
        Event("response.in_progress", new() { ["response"] = Response("in_progress", [], null) });
        Event("response.output_item.added", new() { ["output_index"] = 0, ["item"] = Item("in_progress", []) });
        Event("response.content_part.added", new() { ["item_id"] = messageId, ["output_index"] = 0, ["content_index"] = 0, ["part"] = Part(string.Empty) });
        foreach (Match word in EchoBackend.ChunkPattern().Matches(text))
        {
            Event("response.output_text.delta", new() { ["item_id"] = messageId, ["output_index"] = 0, ["content_index"] = 0, ["delta"] = word.Value, ["logprobs"] = new JsonArray() });
        }

        Event("response.output_text.done", new() { ["item_id"] = messageId, ["output_index"] = 0, ["content_index"] = 0, ["text"] = text, ["logprobs"] = new JsonArray() });
        Event("response.content_part.done", new() { ["item_id"] = messageId, ["output_index"] = 0, ["content_index"] = 0, ["part"] = Part(text) });
        Event("response.output_item.done", new() { ["output_index"] = 0, ["item"] = Item("completed", [Part(text)]) });
        Event("response.completed", new() { ["response"] = Response("completed", [Item("completed", [Part(text)])], Usage()) });
        return EventStream(sse.ToString());
    }

    /// <summary>Answers a legacy <c>POST /v1/completions</c> with its prompt.</summary>
    public static HttpResponseMessage Completion(JsonObject body)
    {
        var model = body["model"]?.GetValue<string>() ?? "echo";
        var text = body["prompt"] switch
        {
            JsonValue v when v.TryGetValue(out string? prompt) => prompt,
            JsonArray list => string.Concat(list.Select(p => p is JsonValue pv && pv.TryGetValue(out string? piece) ? piece : string.Empty)),
            _ => string.Empty,
        };
        var id = "cmpl-echo" + Guid.NewGuid().ToString("N")[..20];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokens = EchoBackend.CountTokens(text);
        JsonObject Usage() => new() { ["prompt_tokens"] = tokens, ["completion_tokens"] = tokens, ["total_tokens"] = 2 * tokens };
        JsonObject Chunk(string piece, string? finish) => new()
        {
            ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["text"] = piece, ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = finish }),
        };

        if (body["stream"] is not JsonValue s || !s.GetValue<bool>())
        {
            var whole = Chunk(text, "stop");
            whole["usage"] = Usage();
            return EchoBackend.Json(HttpStatusCode.OK, whole.ToJsonString());
        }

        var sse = new StringBuilder();
        foreach (Match word in EchoBackend.ChunkPattern().Matches(text))
        {
            sse.Append("data: ").Append(Chunk(word.Value, null).ToJsonString()).Append("\n\n");
        }

        sse.Append("data: ").Append(Chunk(string.Empty, "stop").ToJsonString()).Append("\n\n");
        if (body["stream_options"] is JsonObject so && so["include_usage"] is JsonValue iu && iu.GetValue<bool>())
        {
            var usage = new JsonObject { ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = model, ["choices"] = new JsonArray(), ["usage"] = Usage() };
            sse.Append("data: ").Append(usage.ToJsonString()).Append("\n\n");
        }

        sse.Append("data: [DONE]\n\n");
        return EventStream(sse.ToString());
    }

    /// <summary>The text of the last user input: a string input, or the last user message item's text.</summary>
    private static string LastInputText(JsonNode? input)
    {
        if (input is JsonValue v && v.TryGetValue(out string? text))
        {
            return text;
        }

        if (input is not JsonArray items)
        {
            return string.Empty;
        }

        for (var i = items.Count - 1; i >= 0; i--)
        {
            if (items[i] is JsonObject item && item["role"]?.GetValue<string>() == "user")
            {
                return item["content"] switch
                {
                    JsonValue c when c.TryGetValue(out string? content) => content,
                    JsonArray parts => string.Concat(parts.OfType<JsonObject>().Select(p => p["text"] is JsonValue t && t.TryGetValue(out string? part) ? part : string.Empty)),
                    _ => string.Empty,
                };
            }
        }

        return string.Empty;
    }

    private static HttpResponseMessage EventStream(string sse)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(sse) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        return response;
    }
}
