using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>Builds Responses API streams shaped as OpenAI sends them (event types, sequence numbers, repeats), for tests.</summary>
internal sealed class ResponsesStream
{
    private readonly List<string> _events = [];
    private readonly List<JsonObject> _output = [];
    private int _sequence;

    public ResponsesStream(string model = "gpt-test")
    {
        Model = model;
        Add("response.created", new JsonObject { ["response"] = Response("in_progress", withOutput: false) });
        Add("response.in_progress", new JsonObject { ["response"] = Response("in_progress", withOutput: false) });
    }

    public string Model { get; }

    /// <summary>A message item whose text arrives in the given deltas.</summary>
    public ResponsesStream Message(params string[] deltas) => TextItem("output_text", "response.output_text", deltas);

    /// <summary>A message item whose refusal arrives in the given deltas.</summary>
    public ResponsesStream Refusal(params string[] deltas) => TextItem("refusal", "response.refusal", deltas);

    /// <summary>A function call item whose arguments arrive in the given deltas.</summary>
    public ResponsesStream Call(string name, params string[] deltas)
    {
        var index = _output.Count;
        var id = $"fc_{index}";
        var item = new JsonObject { ["id"] = id, ["type"] = "function_call", ["status"] = "in_progress", ["arguments"] = "", ["call_id"] = $"call_{index}", ["name"] = name };
        Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        foreach (var delta in deltas)
        {
            Add("response.function_call_arguments.delta", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["delta"] = delta });
        }

        var arguments = string.Concat(deltas);
        Add("response.function_call_arguments.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["arguments"] = arguments });
        item["status"] = "completed";
        item["arguments"] = arguments;
        Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        _output.Add(item);
        return this;
    }

    /// <summary>A reasoning item with summary parts, each arriving in the given deltas.</summary>
    public ResponsesStream Reasoning(params string[][] parts)
    {
        var index = _output.Count;
        var id = $"rs_{index}";
        Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = new JsonObject { ["id"] = id, ["type"] = "reasoning", ["summary"] = new JsonArray() } });
        var summary = new JsonArray();
        for (var p = 0; p < parts.Length; p++)
        {
            Add("response.reasoning_summary_part.added", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = p, ["part"] = new JsonObject { ["type"] = "summary_text", ["text"] = "" } });
            foreach (var delta in parts[p])
            {
                Add("response.reasoning_summary_text.delta", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = p, ["delta"] = delta });
            }

            var text = string.Concat(parts[p]);
            Add("response.reasoning_summary_text.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = p, ["text"] = text });
            Add("response.reasoning_summary_part.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["summary_index"] = p, ["part"] = new JsonObject { ["type"] = "summary_text", ["text"] = text } });
            summary.Add(new JsonObject { ["type"] = "summary_text", ["text"] = text });
        }

        var item = new JsonObject { ["id"] = id, ["type"] = "reasoning", ["summary"] = summary };
        Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        _output.Add(item);
        return this;
    }

    /// <summary>The events, ending with <c>response.completed</c> (usage included).</summary>
    public string[] Completed()
    {
        var response = Response("completed", withOutput: true);
        response["usage"] = new JsonObject { ["input_tokens"] = 11, ["output_tokens"] = 7, ["total_tokens"] = 18 };
        Add("response.completed", new JsonObject { ["response"] = response });
        return [.. _events];
    }

    /// <summary>
    /// Runs events through a policy as a streamed Responses answer; returns the data of every event the client gets (as
    /// text) and its JSON.
    /// </summary>
    public static async Task<(List<string> Raw, List<JsonObject> Events)> RunAsync(ControlPolicy policy, string[] events)
    {
        var transaction = TestTransactions.Responses();
        transaction.Response.SetStream(200, new ListStreamingIterator(events));
        await policy.RunAsync(transaction);
        var raw = new List<string>();
        await foreach (var chunk in transaction.Response.Stream!)
        {
            if (!chunk.Data.IsEmpty)
            {
                raw.Add(Encoding.UTF8.GetString(chunk.Data.Span));
            }

            chunk.Release();
        }

        await transaction.Response.Stream!.DisposeAsync();
        return (raw, [.. raw.Select(r => (JsonObject)JsonNode.Parse(r)!)]);
    }

    /// <summary>The events so far, without an end.</summary>
    public string[] Open() => [.. _events];

    private ResponsesStream TextItem(string partType, string eventPrefix, string[] deltas)
    {
        var index = _output.Count;
        var id = $"msg_{index}";
        var member = partType == "refusal" ? "refusal" : "text";
        Add("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = new JsonObject { ["id"] = id, ["type"] = "message", ["status"] = "in_progress", ["content"] = new JsonArray(), ["role"] = "assistant" } });
        Add("response.content_part.added", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = 0, ["part"] = Part(partType, member, "") });
        foreach (var delta in deltas)
        {
            var piece = new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = 0, ["delta"] = delta };
            if (partType == "output_text")
            {
                piece["logprobs"] = new JsonArray(new JsonObject { ["token"] = delta, ["logprob"] = -0.1, ["bytes"] = new JsonArray(), ["top_logprobs"] = new JsonArray() });
            }

            Add(eventPrefix + ".delta", piece);
        }

        var text = string.Concat(deltas);
        var done = new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = 0, [member] = text };
        Add(eventPrefix + ".done", done);
        Add("response.content_part.done", new JsonObject { ["item_id"] = id, ["output_index"] = index, ["content_index"] = 0, ["part"] = Part(partType, member, text) });
        var item = new JsonObject { ["id"] = id, ["type"] = "message", ["status"] = "completed", ["content"] = new JsonArray(Part(partType, member, text)), ["role"] = "assistant" };
        Add("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        _output.Add(item);
        return this;
    }

    private static JsonObject Part(string type, string member, string text)
    {
        var part = new JsonObject { ["type"] = type, [member] = text };
        if (type == "output_text")
        {
            part["annotations"] = new JsonArray();
        }

        return part;
    }

    private JsonObject Response(string status, bool withOutput)
    {
        var output = new JsonArray();
        if (withOutput)
        {
            foreach (var item in _output)
            {
                output.Add(item.DeepClone());
            }
        }

        return new JsonObject { ["id"] = "resp_1", ["object"] = "response", ["created_at"] = 1700000000, ["status"] = status, ["model"] = Model, ["output"] = output, ["usage"] = null };
    }

    private void Add(string type, JsonObject body)
    {
        var json = new JsonObject { ["type"] = type, ["sequence_number"] = _sequence++ };
        foreach (var (name, value) in body.ToList())
        {
            body.Remove(name);
            json[name] = value;
        }

        _events.Add(json.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
