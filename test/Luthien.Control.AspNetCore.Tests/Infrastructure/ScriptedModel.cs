using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// A model behind <see cref="FakeBackend"/> that answers a <see cref="ScriptedTurn"/> in the wire shape of the API the
/// request's path names (OpenAI's <c>…/chat/completions</c>, <c>…/responses</c>, <c>…/completions</c>, and Azure's
/// deployment paths), buffered or streamed as the body's <c>stream</c> asks, the way OpenAI sends them: chat chunks with
/// the role first, one delta per piece, a finish chunk, the usage chunk (and <c>"usage":null</c> on every other chunk)
/// only under <c>stream_options.include_usage</c>, <c>[DONE]</c>; legacy <c>text_completion</c> chunks likewise;
/// Responses events with <c>event:</c> lines, sequence numbers, items and parts added and done, every <c>*.done</c>
/// repeating the text, and <c>response.completed</c> with usage. Logprobs ride along with text (one token per delta),
/// and vendor fields (<c>obfuscation</c>, <c>system_fingerprint</c>) with everything, as they do from OpenAI.
/// </summary>
internal static class ScriptedModel
{
    public const long Created = 1700000000;
    /// <summary>The id of the turn's first call (the n-th is <c>call_scriptedn</c>).</summary>
    public const string CallId = "call_scripted1";

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A <see cref="FakeBackend.Handler"/> answering every request with <paramref name="turn"/>.</summary>
    public static Func<HttpContext, Task> Answering(ScriptedTurn turn) => context => AnswerAsync(context, turn);

    public static async Task AnswerAsync(HttpContext context, ScriptedTurn turn)
    {
        var request = RecordedRequest.Of(context);
        var api = ApiOf(context.Request.Path.Value!);
        var body = JsonNode.Parse(request.Body)!.AsObject();
        var model = body["model"]?.GetValue<string>() ?? DeploymentOf(context.Request.Path.Value!) ?? "unknown";
        if (body["stream"]?.GetValue<bool>() != true)
        {
            await FakeBackend.Json(context, 200, Buffered(api, turn, model));
            return;
        }

        var includeUsage = body["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
        await FakeBackend.Sse(context, [.. Streamed(api, turn, model, includeUsage)]);
    }

    /// <summary>The API a backend path is for (OpenAI's or Azure's).</summary>
    public static ModelApi ApiOf(string path) =>
        path.EndsWith("/chat/completions", StringComparison.OrdinalIgnoreCase) ? ModelApi.Chat
            : path.EndsWith("/responses", StringComparison.OrdinalIgnoreCase) ? ModelApi.Responses
            : path.EndsWith("/completions", StringComparison.OrdinalIgnoreCase) ? ModelApi.Completions
            : throw new InvalidOperationException($"the scripted model does not serve {path}");

    /// <summary>The whole answer body of a buffered request.</summary>
    public static string Buffered(ModelApi api, ScriptedTurn turn, string model) => api switch
    {
        ModelApi.Chat => Json(ChatCompletion(turn, model)),
        ModelApi.Responses => Json(new ResponsesScript(turn, model).Response("completed")),
        _ => Json(TextCompletion(turn, model)),
    };

    /// <summary>The events of a streamed answer, each one whole SSE event (<c>…\n\n</c>) as the backend writes it.</summary>
    public static IReadOnlyList<string> Streamed(ModelApi api, ScriptedTurn turn, string model, bool includeUsage) => api switch
    {
        ModelApi.Chat => [.. ChatChunks(turn, model, includeUsage)],
        ModelApi.Responses => new ResponsesScript(turn, model).Events(),
        _ => [.. TextCompletionChunks(turn, model, includeUsage)],
    };

    private static string CallIdOf(int number) => string.Create(CultureInfo.InvariantCulture, $"call_scripted{number + 1}");

    private static string? DeploymentOf(string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.FindIndex(segments, s => s.Equals("deployments", StringComparison.OrdinalIgnoreCase));
        return at >= 0 && at + 1 < segments.Length ? segments[at + 1] : null;
    }

    private static string Json(JsonNode node) => node.ToJsonString(Compact);

    private static string Data(JsonNode node) => "data: " + Json(node) + "\n\n";

    private static JsonArray Bytes(string token) => new([.. Encoding.UTF8.GetBytes(token).Select(b => JsonValue.Create((int)b))]);

    /// <summary>Chat / Responses logprobs of one token per delta.</summary>
    private static JsonArray TokenLogprobs(IEnumerable<string> deltas) => new([.. deltas.Select(d => (JsonNode)new JsonObject
    {
        ["token"] = d,
        ["logprob"] = -0.01,
        ["bytes"] = Bytes(d),
        ["top_logprobs"] = new JsonArray(new JsonObject { ["token"] = d, ["logprob"] = -0.01, ["bytes"] = Bytes(d) }),
    })]);

    private static JsonObject ChatUsage() => new() { ["prompt_tokens"] = 9, ["completion_tokens"] = 12, ["total_tokens"] = 21 };

    private static JsonObject ChatCompletion(ScriptedTurn turn, string model)
    {
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = turn.Text.Count == 0 ? null : string.Concat(turn.Text),
            ["refusal"] = turn.Refusal is null ? null : string.Concat(turn.Refusal),
        };
        if (turn.Calls.Count > 0)
        {
            message["tool_calls"] = new JsonArray([.. turn.Calls.Select((call, i) => (JsonNode)new JsonObject
            {
                ["id"] = CallIdOf(i),
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments },
            })]);
        }

        message["annotations"] = new JsonArray();
        return new JsonObject
        {
            ["id"] = "chatcmpl-scripted",
            ["object"] = "chat.completion",
            ["created"] = Created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = new JsonObject
                {
                    ["content"] = turn.Text.Count == 0 ? null : TokenLogprobs(turn.Text),
                    ["refusal"] = turn.Refusal is null ? null : TokenLogprobs(turn.Refusal),
                },
                ["finish_reason"] = turn.Calls.Count == 0 ? "stop" : "tool_calls",
            }),
            ["usage"] = ChatUsage(),
            ["service_tier"] = "default",
            ["system_fingerprint"] = "fp_scripted",
        };
    }

    private static IEnumerable<string> ChatChunks(ScriptedTurn turn, string model, bool includeUsage)
    {
        string Chunk(JsonArray choices, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-scripted",
                ["object"] = "chat.completion.chunk",
                ["created"] = Created,
                ["model"] = model,
                ["service_tier"] = "default",
                ["system_fingerprint"] = "fp_scripted",
                ["choices"] = choices,
            };
            if (includeUsage)
            {
                chunk["usage"] = usage;
            }

            chunk["obfuscation"] = "q1";
            return Data(chunk);
        }

        static JsonArray Choice(JsonObject delta, JsonNode? logprobs = null, string? finish = null) =>
            new(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = logprobs, ["finish_reason"] = finish });

        IEnumerable<string> Said()
        {
            foreach (var delta in turn.Text)
            {
                yield return Chunk(Choice(new JsonObject { ["content"] = delta }, new JsonObject { ["content"] = TokenLogprobs([delta]), ["refusal"] = null }));
            }

            foreach (var delta in turn.Refusal ?? [])
            {
                yield return Chunk(Choice(new JsonObject { ["refusal"] = delta }, new JsonObject { ["content"] = null, ["refusal"] = TokenLogprobs([delta]) }));
            }
        }

        IEnumerable<string> Called()
        {
            for (var i = 0; i < turn.Calls.Count; i++)
            {
                yield return Chunk(Choice(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = i,
                        ["id"] = CallIdOf(i),
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = turn.Calls[i].Name, ["arguments"] = "" },
                    }),
                }));
                foreach (var delta in turn.Calls[i].ArgumentDeltas)
                {
                    yield return Chunk(Choice(new JsonObject
                    {
                        ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = delta } }),
                    }));
                }
            }
        }

        yield return Chunk(Choice(new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }));
        foreach (var chunk in turn.CallsFirst ? Called().Concat(Said()) : Said().Concat(Called()))
        {
            yield return chunk;
        }

        yield return Chunk(Choice(new JsonObject(), finish: turn.Calls.Count == 0 ? "stop" : "tool_calls"));
        if (includeUsage)
        {
            yield return Chunk([], ChatUsage());
        }

        yield return "data: [DONE]\n\n";
    }

    /// <summary>Legacy logprobs: tokens, their logprobs, the top ones as token → logprob, and where each starts.</summary>
    private static JsonObject LegacyLogprobs(IReadOnlyList<string> deltas, int offset)
    {
        var offsets = new JsonArray();
        foreach (var delta in deltas)
        {
            offsets.Add(offset);
            offset += delta.Length;
        }

        return new JsonObject
        {
            ["tokens"] = new JsonArray([.. deltas.Select(d => JsonValue.Create(d))]),
            ["token_logprobs"] = new JsonArray([.. deltas.Select(_ => JsonValue.Create(-0.01))]),
            ["top_logprobs"] = new JsonArray([.. deltas.Select(d => (JsonNode)new JsonObject { [d] = -0.01 })]),
            ["text_offset"] = offsets,
        };
    }

    private static JsonObject TextCompletion(ScriptedTurn turn, string model) => new()
    {
        ["id"] = "cmpl-scripted",
        ["object"] = "text_completion",
        ["created"] = Created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["text"] = string.Concat(turn.Text),
            ["index"] = 0,
            ["logprobs"] = LegacyLogprobs(turn.Text, 0),
            ["finish_reason"] = "stop",
        }),
        ["usage"] = ChatUsage(),
        ["system_fingerprint"] = "fp_scripted",
    };

    private static IEnumerable<string> TextCompletionChunks(ScriptedTurn turn, string model, bool includeUsage)
    {
        string Chunk(JsonArray choices, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = "cmpl-scripted",
                ["object"] = "text_completion",
                ["created"] = Created,
                ["choices"] = choices,
                ["model"] = model,
                ["system_fingerprint"] = "fp_scripted",
            };
            if (includeUsage)
            {
                chunk["usage"] = usage;
            }

            return Data(chunk);
        }

        var offset = 0;
        foreach (var delta in turn.Text)
        {
            yield return Chunk(new JsonArray(new JsonObject { ["text"] = delta, ["index"] = 0, ["logprobs"] = LegacyLogprobs([delta], offset), ["finish_reason"] = null }));
            offset += delta.Length;
        }

        yield return Chunk(new JsonArray(new JsonObject { ["text"] = "", ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = "stop" }));
        if (includeUsage)
        {
            yield return Chunk([], ChatUsage());
        }

        yield return "data: [DONE]\n\n";
    }

    /// <summary>A Responses answer: reasoning, then a message (text part, refusal part), then a function call — what the turn has.</summary>
    private sealed class ResponsesScript
    {
        private readonly ScriptedTurn _turn;
        private readonly string _model;
        private readonly List<string> _events = [];
        private readonly List<JsonObject> _output = [];

        public ResponsesScript(ScriptedTurn turn, string model)
        {
            _turn = turn;
            _model = model;
        }

        public JsonObject Response(string status)
        {
            if (status == "completed" && _output.Count == 0)
            {
                // Buffered: the items as the stream would have finished them.
                Events();
            }

            return Envelope(status, [.. _output.Select(i => i.DeepClone())]);
        }

        public List<string> Events()
        {
            if (_events.Count > 0)
            {
                return _events;
            }

            Add("response.created", new JsonObject { ["response"] = Envelope("in_progress", []) });
            Add("response.in_progress", new JsonObject { ["response"] = Envelope("in_progress", []) });
            if (_turn.Reasoning is { } reasoning)
            {
                ReasoningItem(reasoning);
            }

            if (_turn.CallsFirst)
            {
                CallItems();
            }

            if (_turn.Text.Count > 0 || _turn.Refusal is not null)
            {
                MessageItem();
            }

            if (!_turn.CallsFirst)
            {
                CallItems();
            }

            Add("response.completed", new JsonObject { ["response"] = Envelope("completed", [.. _output.Select(i => i.DeepClone())]) });
            return _events;
        }

        private void ReasoningItem(IReadOnlyList<string> deltas)
        {
            var index = _output.Count;
            const string id = "rs_scripted1";
            Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = new JsonObject { ["id"] = id, ["type"] = "reasoning", ["summary"] = new JsonArray() } });
            Add("response.reasoning_summary_part.added", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = 0, ["part"] = new JsonObject { ["type"] = "summary_text", ["text"] = "" } });
            foreach (var delta in deltas)
            {
                Add("response.reasoning_summary_text.delta", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = 0, ["delta"] = delta, ["obfuscation"] = "q1" });
            }

            var text = string.Concat(deltas);
            Add("response.reasoning_summary_text.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = 0, ["text"] = text });
            Add("response.reasoning_summary_part.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = 0, ["part"] = new JsonObject { ["type"] = "summary_text", ["text"] = text } });
            var item = new JsonObject { ["id"] = id, ["type"] = "reasoning", ["summary"] = new JsonArray(new JsonObject { ["type"] = "summary_text", ["text"] = text }) };
            Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            _output.Add(item);
        }

        private void MessageItem()
        {
            var index = _output.Count;
            const string id = "msg_scripted1";
            Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = new JsonObject { ["id"] = id, ["type"] = "message", ["status"] = "in_progress", ["content"] = new JsonArray(), ["role"] = "assistant" } });
            var parts = new JsonArray();
            if (_turn.Text.Count > 0)
            {
                parts.Add(Part(index, parts.Count, id, "output_text", _turn.Text));
            }

            if (_turn.Refusal is { } refusal)
            {
                parts.Add(Part(index, parts.Count, id, "refusal", refusal));
            }

            var item = new JsonObject { ["id"] = id, ["type"] = "message", ["status"] = "completed", ["content"] = parts, ["role"] = "assistant" };
            Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            _output.Add(item);
        }

        private JsonObject Part(int index, int contentIndex, string id, string type, IReadOnlyList<string> deltas)
        {
            var isText = type == "output_text";
            var member = isText ? "text" : "refusal";
            var events = isText ? "response.output_text" : "response.refusal";
            JsonObject Shape(string text, IEnumerable<string> tokens) => isText
                ? new JsonObject { ["type"] = type, ["annotations"] = new JsonArray(), ["logprobs"] = TokenLogprobs(tokens), ["text"] = text }
                : new JsonObject { ["type"] = type, ["refusal"] = text };

            Add("response.content_part.added", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = contentIndex, ["part"] = Shape("", []) });
            foreach (var delta in deltas)
            {
                var piece = new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = contentIndex, ["delta"] = delta };
                if (isText)
                {
                    piece["logprobs"] = TokenLogprobs([delta]);
                }

                piece["obfuscation"] = "q1";
                Add(events + ".delta", piece);
            }

            var text = string.Concat(deltas);
            var done = new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = contentIndex, [member] = text };
            if (isText)
            {
                done["logprobs"] = TokenLogprobs(deltas);
            }

            Add(events + ".done", done);
            Add("response.content_part.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = contentIndex, ["part"] = Shape(text, deltas) });
            return Shape(text, deltas);
        }

        private void CallItems()
        {
            for (var i = 0; i < _turn.Calls.Count; i++)
            {
                CallItem(_turn.Calls[i], i);
            }
        }

        private void CallItem(ScriptedCall call, int number)
        {
            var index = _output.Count;
            var id = $"fc_scripted{number + 1}";
            var item = new JsonObject { ["id"] = id, ["type"] = "function_call", ["status"] = "in_progress", ["arguments"] = "", ["call_id"] = CallIdOf(number), ["name"] = call.Name };
            Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            foreach (var delta in call.ArgumentDeltas)
            {
                Add("response.function_call_arguments.delta", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["delta"] = delta, ["obfuscation"] = "q1" });
            }

            Add("response.function_call_arguments.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["arguments"] = call.Arguments });
            item["status"] = "completed";
            item["arguments"] = call.Arguments;
            Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            _output.Add(item);
        }

        private JsonObject Envelope(string status, JsonArray output) => new()
        {
            ["id"] = "resp_scripted1",
            ["object"] = "response",
            ["created_at"] = Created,
            ["status"] = status,
            ["background"] = false,
            ["error"] = null,
            ["incomplete_details"] = null,
            ["instructions"] = null,
            ["max_output_tokens"] = null,
            ["model"] = _model,
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = null,
            ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
            ["store"] = true,
            ["temperature"] = 1.0,
            ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
            ["tool_choice"] = "auto",
            ["tools"] = new JsonArray(),
            ["top_p"] = 1.0,
            ["truncation"] = "disabled",
            ["usage"] = status == "completed"
                ? new JsonObject
                {
                    ["input_tokens"] = 9,
                    ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
                    ["output_tokens"] = 12,
                    ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
                    ["total_tokens"] = 21,
                }
                : null,
            ["metadata"] = new JsonObject(),
        };

        private void Add(string type, JsonObject body)
        {
            var json = new JsonObject { ["type"] = type, ["sequence_number"] = _events.Count };
            foreach (var (name, value) in body.ToList())
            {
                body.Remove(name);
                json[name] = value;
            }

            _events.Add(string.Create(CultureInfo.InvariantCulture, $"event: {type}\ndata: {Json(json)}\n\n"));
        }
    }
}
