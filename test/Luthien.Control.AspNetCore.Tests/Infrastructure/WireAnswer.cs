using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>One SSE event as the client received it.</summary>
internal sealed record SseEvent(string? Name, string Data)
{
    public JsonObject Json => JsonNode.Parse(Data)!.AsObject();

    public string? Type => Name is null ? null : Json["type"]?.GetValue<string>();
}

/// <summary>A tool call as a client assembles it.</summary>
internal sealed record WireCall(string? Id, string? Name, string Arguments);

/// <summary>
/// What a client makes of an answer of one of the policed APIs, buffered or streamed, read from the raw body: the text
/// of each kind (joined deltas), the tool calls, and how it ended (chat / legacy <c>finish_reason</c>, Responses
/// <c>status</c> and <c>incomplete_details.reason</c>).
/// </summary>
internal sealed class WireAnswer
{
    private WireAnswer(string raw) => Raw = raw;

    /// <summary>Every byte of the body, as UTF-8 text.</summary>
    public string Raw { get; }

    /// <summary>A stream's events (empty for a buffered answer), <c>[DONE]</c> included.</summary>
    public IReadOnlyList<SseEvent> Events { get; private init; } = [];

    /// <summary>A buffered answer's JSON.</summary>
    public JsonObject? Body { get; private init; }

    public string Text { get; private set; } = "";

    public string Refusal { get; private set; } = "";

    public string Reasoning { get; private set; } = "";

    public List<WireCall> Calls { get; } = [];

    /// <summary>Chat and legacy: the choice's finish reason.</summary>
    public string? FinishReason { get; private set; }

    /// <summary>Responses: the response's status.</summary>
    public string? Status { get; private set; }

    /// <summary>Responses: why it is incomplete.</summary>
    public string? IncompleteReason { get; private set; }

    /// <summary>Responses: the final response object (buffered body, or the terminal event's <c>response</c>).</summary>
    public JsonObject? Response { get; private set; }

    public static WireAnswer Read(ModelApi api, bool streamed, string raw)
    {
        if (!streamed)
        {
            var answer = new WireAnswer(raw) { Body = JsonNode.Parse(raw)!.AsObject() };
            answer.ReadBuffered(api);
            return answer;
        }

        var streamedAnswer = new WireAnswer(raw) { Events = ParseSse(raw) };
        streamedAnswer.ReadStreamed(api);
        return streamedAnswer;
    }

    /// <summary>Splits canonical SSE (<c>event:</c> / <c>data:</c> lines, events ended by a blank line).</summary>
    public static List<SseEvent> ParseSse(string raw)
    {
        Assert.That(raw, Does.EndWith("\n\n"), "the last event ends with a blank line");
        var events = new List<SseEvent>();
        foreach (var block in raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    name = line["event: ".Length..];
                }
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    data.Append(line["data: ".Length..]);
                }
                else
                {
                    Assert.Fail($"not a canonical SSE line: {line}");
                }
            }

            events.Add(new SseEvent(name, data.ToString()));
        }

        return events;
    }

    private void ReadBuffered(ModelApi api)
    {
        switch (api)
        {
            case ModelApi.Chat:
                var choice = Body!["choices"]![0]!;
                var message = choice["message"]!;
                Text = message["content"]?.GetValue<string>() ?? "";
                Refusal = message["refusal"]?.GetValue<string>() ?? "";
                foreach (var call in message["tool_calls"]?.AsArray() ?? [])
                {
                    Calls.Add(new WireCall(call!["id"]?.GetValue<string>(), call["function"]!["name"]!.GetValue<string>(), call["function"]!["arguments"]!.GetValue<string>()));
                }

                FinishReason = choice["finish_reason"]?.GetValue<string>();
                break;
            case ModelApi.Completions:
                Text = Body!["choices"]![0]!["text"]!.GetValue<string>();
                FinishReason = Body["choices"]![0]!["finish_reason"]?.GetValue<string>();
                break;
            default:
                ReadResponse(Body!);
                break;
        }
    }

    private void ReadResponse(JsonObject response)
    {
        Response = response;
        Status = response["status"]?.GetValue<string>();
        IncompleteReason = response["incomplete_details"]?["reason"]?.GetValue<string>();
        foreach (var item in response["output"]!.AsArray())
        {
            switch (item!["type"]!.GetValue<string>())
            {
                case "message":
                    foreach (var part in item["content"]!.AsArray())
                    {
                        if (part!["type"]!.GetValue<string>() == "refusal")
                        {
                            Refusal += part["refusal"]!.GetValue<string>();
                        }
                        else
                        {
                            Text += part["text"]!.GetValue<string>();
                        }
                    }

                    break;
                case "reasoning":
                    Reasoning += string.Concat(item["summary"]!.AsArray().Select(s => s!["text"]!.GetValue<string>()));
                    break;
                case "function_call":
                    Calls.Add(new WireCall(item["call_id"]?.GetValue<string>(), item["name"]!.GetValue<string>(), item["arguments"]!.GetValue<string>()));
                    break;
            }
        }
    }

    private void ReadStreamed(ModelApi api)
    {
        if (api == ModelApi.Responses)
        {
            ReadResponsesStream();
            return;
        }

        var text = new StringBuilder();
        var refusal = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, StringBuilder Name, StringBuilder Arguments)>();
        foreach (var e in Events)
        {
            Assert.That(e.Name, Is.Null, "chat and legacy streams have no event names");
            if (e.Data == "[DONE]")
            {
                continue;
            }

            foreach (var choice in e.Json["choices"]!.AsArray())
            {
                if (choice!["index"]!.GetValue<int>() != 0)
                {
                    continue;
                }

                if (api == ModelApi.Completions)
                {
                    text.Append(choice["text"]?.GetValue<string>());
                }
                else if (choice["delta"] is JsonObject delta)
                {
                    text.Append(delta["content"]?.GetValue<string>());
                    refusal.Append(delta["refusal"]?.GetValue<string>());
                    foreach (var call in delta["tool_calls"]?.AsArray() ?? [])
                    {
                        var index = call!["index"]!.GetValue<int>();
                        if (!calls.TryGetValue(index, out var known))
                        {
                            known = (call["id"]?.GetValue<string>(), new StringBuilder(), new StringBuilder());
                            calls[index] = known;
                        }

                        known.Name.Append(call["function"]?["name"]?.GetValue<string>());
                        known.Arguments.Append(call["function"]?["arguments"]?.GetValue<string>());
                    }
                }

                if (choice["finish_reason"]?.GetValue<string>() is { } finish)
                {
                    FinishReason = finish;
                }
            }
        }

        Text = text.ToString();
        Refusal = refusal.ToString();
        Calls.AddRange(calls.Values.Select(c => new WireCall(c.Id, c.Name.ToString(), c.Arguments.ToString())));
    }

    private void ReadResponsesStream()
    {
        var text = new StringBuilder();
        var refusal = new StringBuilder();
        var reasoning = new StringBuilder();
        foreach (var e in Events)
        {
            Assert.That(e.Name, Is.Not.Null, "every Responses event names its type");
            Assert.That(e.Type, Is.EqualTo(e.Name), "the event line and the data's type agree");
            var json = e.Json;
            switch (e.Name)
            {
                case "response.output_text.delta":
                    text.Append(json["delta"]!.GetValue<string>());
                    break;
                case "response.refusal.delta":
                    refusal.Append(json["delta"]!.GetValue<string>());
                    break;
                case "response.reasoning_summary_text.delta":
                    reasoning.Append(json["delta"]!.GetValue<string>());
                    break;
                case "response.completed" or "response.incomplete" or "response.failed":
                    Response = json["response"]!.AsObject();
                    break;
            }
        }

        Assert.That(Response, Is.Not.Null, "a Responses stream ends with its terminal event");
        ReadResponse(Response!);

        // What the deltas said is what the client shows while streaming: it must be what the final response says.
        Assert.That(text.ToString(), Is.EqualTo(Text), "output_text deltas vs the final response");
        Assert.That(refusal.ToString(), Is.EqualTo(Refusal), "refusal deltas vs the final response");
        Assert.That(reasoning.ToString(), Is.EqualTo(Reasoning), "reasoning deltas vs the final response");
    }
    /// <summary>
    /// A Responses stream as OpenAI's SDKs expect it: sequence numbers 0, 1, 2, …; output indexes added in order without
    /// gaps; one terminal event, last; and every event that repeats text (<c>*.done</c>, <c>content_part.done</c>,
    /// <c>output_item.done</c>, the terminal response) saying what the deltas said.
    /// </summary>
    public void AssertResponsesStreamConsistent()
    {
        var deltas = new Dictionary<string, StringBuilder>();
        string Key(JsonObject e, string kind, string indexName = "content_index") =>
            $"{kind}/{e["output_index"]}/{e[indexName]}";
        StringBuilder Of(string key) => deltas.TryGetValue(key, out var b) ? b : deltas[key] = new StringBuilder();
        void Same(string key, JsonNode? repeated, string what) =>
            Assert.That(repeated?.GetValue<string>(), Is.EqualTo(Of(key).ToString()), $"{what} repeats what the deltas said ({key})");

        var added = 0;
        for (var i = 0; i < Events.Count; i++)
        {
            var e = Events[i].Json;
            var type = e["type"]!.GetValue<string>();
            Assert.That(e["sequence_number"]?.GetValue<int>(), Is.EqualTo(i), $"sequence number of event {i} ({type})");
            var terminal = type is "response.completed" or "response.incomplete" or "response.failed";
            Assert.That(terminal, Is.EqualTo(i == Events.Count - 1), $"{type} at {i}: one terminal event, last");
            switch (type)
            {
                case "response.output_item.added":
                    Assert.That(e["output_index"]!.GetValue<int>(), Is.EqualTo(added++), "output indexes added in order, without gaps");
                    break;
                case "response.output_text.delta":
                    Of(Key(e, "text")).Append(e["delta"]!.GetValue<string>());
                    break;
                case "response.refusal.delta":
                    Of(Key(e, "refusal")).Append(e["delta"]!.GetValue<string>());
                    break;
                case "response.reasoning_summary_text.delta":
                    Of(Key(e, "reasoning", "summary_index")).Append(e["delta"]!.GetValue<string>());
                    break;
                case "response.function_call_arguments.delta":
                    Of($"arguments/{e["output_index"]}/").Append(e["delta"]!.GetValue<string>());
                    break;
                case "response.output_text.done":
                    Same(Key(e, "text"), e["text"], type);
                    break;
                case "response.refusal.done":
                    Same(Key(e, "refusal"), e["refusal"], type);
                    break;
                case "response.reasoning_summary_text.done":
                    Same(Key(e, "reasoning", "summary_index"), e["text"], type);
                    break;
                case "response.reasoning_summary_part.done":
                    Same(Key(e, "reasoning", "summary_index"), e["part"]!["text"], type);
                    break;
                case "response.function_call_arguments.done":
                    Same($"arguments/{e["output_index"]}/", e["arguments"], type);
                    break;
                case "response.content_part.done":
                    var part = e["part"]!;
                    var isRefusal = part["type"]!.GetValue<string>() == "refusal";
                    Same(Key(e, isRefusal ? "refusal" : "text"), part[isRefusal ? "refusal" : "text"], type);
                    break;
                case "response.output_item.done":
                    Assert.That(e["output_index"]!.GetValue<int>(), Is.LessThan(added), "an item is done only after it was added");
                    AssertItemRepeats(e["output_index"]!.GetValue<int>(), e["item"]!.AsObject(), type);
                    break;
            }

            if (terminal)
            {
                var output = e["response"]!["output"]!.AsArray();
                Assert.That(output.Count, Is.LessThanOrEqualTo(added), "the final output holds only items that were added");
                for (var index = 0; index < output.Count; index++)
                {
                    AssertItemRepeats(index, output[index]!.AsObject(), type);
                }
            }
        }

        void AssertItemRepeats(int index, JsonObject item, string where)
        {
            switch (item["type"]!.GetValue<string>())
            {
                case "message":
                    var parts = item["content"]!.AsArray();
                    for (var p = 0; p < parts.Count; p++)
                    {
                        var isRefusal = parts[p]!["type"]!.GetValue<string>() == "refusal";
                        Same($"{(isRefusal ? "refusal" : "text")}/{index}/{p}", parts[p]![isRefusal ? "refusal" : "text"], where);
                    }

                    break;
                case "reasoning":
                    var summary = item["summary"]!.AsArray();
                    for (var p = 0; p < summary.Count; p++)
                    {
                        Same($"reasoning/{index}/{p}", summary[p]!["text"], where);
                    }

                    break;
                case "function_call":
                    Same($"arguments/{index}/", item["arguments"], where);
                    break;
            }
        }
    }
}
