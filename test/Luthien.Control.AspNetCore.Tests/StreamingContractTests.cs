using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.Streaming;
using Microsoft.AspNetCore.Http;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// CONTRACT.md's "Streaming" rules, end to end: a fake backend on loopback serves real SSE bytes, the app runs the
/// contract's policy file, and the official OpenAI .NET client reads what the app writes. Run with the raw backend and
/// with an IChatClient backend over the same fake backend.
/// </summary>
[TestFixture(BackendKind.Raw)]
[TestFixture(BackendKind.ChatClient)]
public class StreamingContractTests(BackendKind kind)
{
    private const string Head = "\"id\":\"chatcmpl-9\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o\"";

    private FakeBackend _backend = null!;
    private LuthienAppFactory _passthrough = null!;
    private LuthienAppFactory _controlled = null!;
    private string _policyFile = null!;

    private static string Chunk(string choices, string? extra = null) =>
        $"data: {{{Head},\"choices\":[{choices}]{(extra is null ? string.Empty : "," + extra)}}}\n\n";

    private static string Delta(string delta, string finish = "null", int index = 0) =>
        $"{{\"index\":{index},\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}";

    private static string Content(string text, int index = 0) => Chunk(Delta($"{{\"content\":{System.Text.Json.JsonSerializer.Serialize(text)}}}", index: index));

    private static string Stop(string reason = "stop", int index = 0) => Chunk(Delta("{}", $"\"{reason}\"", index));

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _passthrough = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:Streaming:RequestUsage"] = "false",
        }, BackendKinds.Services(kind, _backend.BaseUrl));
        _policyFile = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "name": "root", "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
              { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
              { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } },
              { "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } },
              { "type": "ResponseContentPolicy", "config": { "patterns": ["BLOCKME-[0-9]{4}"], "action": "block" } },
              { "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } },
              { "type": "TransactionContextLoggingPolicy", "config": { "log_level": "Information" } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        _controlled = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:PolicyFile"] = _policyFile,
        }, BackendKinds.Services(kind, _backend.BaseUrl));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _passthrough.DisposeAsync();
        await _controlled.DisposeAsync();
        await _backend.DisposeAsync();
        File.Delete(_policyFile);
    }

    [SetUp]
    public void ResetBackend() => _backend.Reset();

    private static async Task<string> PostRawAsync(LuthienAppFactory app, string body = """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}""")
    {
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Authorization", "Bearer client-key-1");
        using var response = await http.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<List<StreamingChatCompletionUpdate>> StreamAsync(LuthienAppFactory app, ChatCompletionOptions? options = null)
    {
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in app.CreateChatClient().CompleteChatStreamingAsync([new UserChatMessage("hi")], options ?? new ChatCompletionOptions()))
        {
            updates.Add(update);
        }

        return updates;
    }

    private static string TextOf(IEnumerable<StreamingChatCompletionUpdate> updates) =>
        string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text));

    [Test]
    public async Task PassthroughChain_Stream_IsByteIdenticalToBackend()
    {
        BackendKinds.AssumeRawWire(kind, "byte-identical chunks (system_fingerprint, vendor fields, the backend's own JSON) do not survive a translation to ChatResponseUpdates.");
        var sse = string.Concat(
            Chunk(Delta("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}")),
            Content("Hé "), Content("wörld"),
            Chunk(Delta("{}", "\"stop\""), "\"system_fingerprint\":\"fp_1\",\"x_vendor\":{\"n\":[1,2.50]}"),
            "data: [DONE]\n\n");
        _backend.Handler = c => FakeBackend.Sse(c, sse);

        Assert.That(await PostRawAsync(_passthrough), Is.EqualTo(sse));
    }

    [Test]
    public async Task NonStreaming_ResponsePoliciesFindNothing_AnswerIsByteIdentical()
    {
        BackendKinds.AssumeRawWire(kind, "a byte-identical body (its formatting, x_vendor) does not survive a translation to a ChatResponse.");
        const string answer = "{ \"id\": \"x\",\n  \"choices\": [ {\"index\":0, \"message\": {\"role\":\"assistant\",\"content\":\"caf\\u00e9 ok\"}, \"finish_reason\":\"stop\"} ],\n  \"x_vendor\": 1.50 }";
        _backend.Handler = c => FakeBackend.Json(c, 200, answer);

        var raw = await PostRawAsync(_controlled, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(raw, Is.EqualTo(answer));
    }

    [Test]
    public async Task ToolCallDeltas_ParallelAndFragmented_ClientReassemblesThem()
    {
        _backend.Handler = c => FakeBackend.Sse(
            c,
            Chunk(Delta("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}")),
            Chunk(Delta("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}")),
            Chunk(Delta("{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}")),
            Chunk(Delta("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}")),
            Chunk(Delta("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]}")),
            Stop("tool_calls"),
            "data: [DONE]\n\n");

        foreach (var app in new[] { _passthrough, _controlled })
        {
            var updates = await StreamAsync(app);

            var calls = updates.SelectMany(u => u.ToolCallUpdates).GroupBy(t => t.Index)
                .ToDictionary(g => g.Key, g => (Name: g.First().FunctionName, Args: string.Concat(g.Select(t => t.FunctionArgumentsUpdate is { } args && args.ToMemory().Length > 0 ? args.ToString() : string.Empty))));
            Assert.That(calls[0], Is.EqualTo(("get_weather", "{\"city\":\"Paris\"}")));
            Assert.That(calls[1], Is.EqualTo(("get_weather", "{\"city\":\"Oslo\"}")));
            Assert.That(updates.Select(u => u.FinishReason).OfType<ChatFinishReason>().Single(), Is.EqualTo(ChatFinishReason.ToolCalls));
        }
    }

    [Test]
    public async Task BlockedToolCall_ClientNeverSeesItAndChoiceEndsWithContentFilter()
    {
        _backend.Handler = c => FakeBackend.Sse(
            c,
            Chunk(Delta("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"delete_everything\",\"arguments\":\"\"}}]}")),
            Chunk(Delta("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}")),
            Stop("tool_calls"),
            "data: [DONE]\n\n");

        var raw = await PostRawAsync(_controlled);
        var updates = await StreamAsync(_controlled);

        Assert.That(raw, Does.Not.Contain("delete_everything").And.Not.Contain("call_x"));
        Assert.That(raw, Does.EndWith("data: [DONE]\n\n"));
        Assert.That(updates.SelectMany(u => u.ToolCallUpdates), Is.Empty);
        Assert.That(updates.Select(u => u.FinishReason).OfType<ChatFinishReason>().Single(), Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task Redact_MatchSplitAcrossChunks_ClientGetsRedactedText()
    {
        var key = "sk-" + new string('A', 24);
        _backend.Handler = c => FakeBackend.Sse(c, Content("your key is "), Content(key[..5]), Content(key[5..17]), Content(key[17..] + " ok"), Stop(), "data: [DONE]\n\n");

        var updates = await StreamAsync(_controlled);
        var raw = await PostRawAsync(_controlled);

        Assert.That(TextOf(updates), Is.EqualTo("your key is [REDACTED] ok"));
        Assert.That(raw, Does.Not.Contain("AAAA"));
    }

    [Test]
    public async Task Block_MatchSplitAcrossChunks_StreamEndsWithContentFilterAndDone()
    {
        _backend.Handler = c => FakeBackend.Sse(c, Content("before BLOCK"), Content("ME-12"), Content("34 after"), Stop(), "data: [DONE]\n\n");

        var updates = await StreamAsync(_controlled);
        var raw = await PostRawAsync(_controlled);

        Assert.That(TextOf(updates), Is.EqualTo("before "));
        Assert.That(updates.Select(u => u.FinishReason).OfType<ChatFinishReason>().Single(), Is.EqualTo(ChatFinishReason.ContentFilter));
        Assert.That(raw, Does.Not.Contain("BLOCK").And.Not.Contain("ME-").And.Not.Contain("after"));
        Assert.That(raw.Split("data: [DONE]\n\n").Length - 1, Is.EqualTo(1));
    }

    [Test]
    public async Task TwoChoices_Refusal_AzureFilterResults_PassIntact()
    {
        BackendKinds.AssumeRawWire(kind, "an IChatClient answers one choice (n > 1 is refused) and has no refusal or Azure filter results.");
        var sse = string.Concat(
            $"data: {{\"id\":\"\",\"object\":\"\",\"created\":0,\"model\":\"\",\"choices\":[],\"prompt_filter_results\":[{{\"prompt_index\":0,\"content_filter_results\":{{\"hate\":{{\"filtered\":false,\"severity\":\"safe\"}}}}}}]}}\n\n",
            Chunk(Delta("{\"role\":\"assistant\",\"content\":\"A\"}", index: 0)),
            Chunk(Delta("{\"role\":\"assistant\",\"content\":\"B\"}", index: 1)),
            Chunk(Delta("{\"refusal\":\"I can't\"}", index: 1)),
            Chunk("{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\",\"content_filter_results\":{\"hate\":{\"filtered\":false}}}"),
            Chunk(Delta("{}", "\"stop\"", 1)),
            "data: [DONE]\n\n");
        _backend.Handler = c => FakeBackend.Sse(c, sse);

        const string request = """{"model":"gpt-4o","n":2,"stream":true,"messages":[{"role":"user","content":"hi"}]}""";
        var passthrough = await PostRawAsync(_passthrough, request);
        var controlled = await PostRawAsync(_controlled, request);
        var updates = await StreamAsync(_controlled);

        Assert.That(passthrough, Is.EqualTo(sse));
        Assert.That(controlled, Does.Contain("prompt_filter_results").And.Contain("\"content_filter_results\":{\"hate\":{\"filtered\":false}}").And.Contain("I can't"));

        // "B" could begin "BLOCKME-…", so the content policy holds it until the choice ends, then lets it out.
        var choice1 = string.Concat(controlled.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]")
            .SelectMany(e => JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray())
            .Where(c => c!["index"]!.GetValue<int>() == 1)
            .Select(c => c!["delta"]?["content"]?.GetValue<string>()));
        Assert.That(choice1, Is.EqualTo("B"));
        Assert.That(string.Concat(updates.Select(u => u.RefusalUpdate)), Is.EqualTo("I can't"));
    }

    [Test]
    public async Task Usage_ClientAsked_ChunkPassesThrough()
    {
        _backend.Handler = c => FakeBackend.Sse(c, Content("x"), Stop(), $"data: {{{Head},\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}}}\n\n", "data: [DONE]\n\n");

        // The .NET client asks for usage (stream_options.include_usage) on every streamed request.
        var updates = await StreamAsync(_controlled);

        Assert.That(JsonNode.Parse(_backend.Requests.Last().Body)!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True);
        Assert.That(updates.Last().Usage?.TotalTokenCount, Is.EqualTo(4));
    }

    [Test]
    public async Task Usage_LibraryAsked_ChunkHiddenFromClient()
    {
        _backend.Handler = c =>
        {
            var asked = JsonNode.Parse(_backend.Requests.Last().Body)!["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
            return FakeBackend.Sse(
                c,
                Content("x"),
                Stop(),
                asked ? $"data: {{{Head},\"choices\":[],\"usage\":{{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}}}\n\n" : string.Empty,
                "data: [DONE]\n\n");
        };

        var raw = await PostRawAsync(_controlled);

        Assert.That(JsonNode.Parse(_backend.Requests.Last().Body)!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True, "the library asks for usage to log tokens");
        Assert.That(raw, Does.Not.Contain("total_tokens"));
        Assert.That(raw, Does.EndWith("data: [DONE]\n\n"));
    }

    [Test]
    public async Task UpstreamConnectionKilled_ClientNeverGetsDone()
    {
        _backend.Handler = async c =>
        {
            await FakeBackend.Sse(c, Content("partial "));
            c.Abort();
        };

        foreach (var app in new[] { _passthrough, _controlled })
        {
            string raw;
            try
            {
                raw = await PostRawAsync(app);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                raw = string.Empty; // aborted: the client cannot take it for a complete answer
            }

            Assert.That(raw, Does.Not.Contain("[DONE]"));
            Assert.ThrowsAsync(Is.InstanceOf<Exception>(), async () => await StreamAsync(app));
        }
    }

    [Test]
    public async Task PolicyThrowsMidStream_ErrorEventWithPolicyErrorAndNoDone()
    {
        _backend.Handler = c => FakeBackend.Sse(c, Content("one "), Content("two "), Content("three"), Stop(), "data: [DONE]\n\n");
        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(), ["Luthien:PolicyFile"] = PolicyFiles.Write("""
                { "type": "SerialPolicy", "config": { "policies": [ { "type": "FailOnSecond", "config": {} }, { "type": "SendBackendRequest", "config": {} } ] } }
                """) },
            b => BackendKinds.Use(b.AddPolicy<FailOnSecondChunkPolicy>("FailOnSecond"), kind, _backend.BaseUrl));
        using var http = host.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();

        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(events[0], Does.Contain("one "));
        var error = JsonNode.Parse(events[^1]["data: ".Length..])!["error"]!;
        Assert.That(error["type"]!.GetValue<string>(), Is.EqualTo("server_error"));
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("policy_error"));
        Assert.That(raw, Does.Not.Contain("[DONE]").And.Not.Contain("Exception").And.Not.Contain(" at "));
    }

    /// <summary>A policy that fails on the second chunk.</summary>
    public sealed class FailOnSecondChunkPolicy : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            if (context.EmittedCount == 1)
            {
                throw new InvalidOperationException("bug in a policy, with internal details");
            }

            context.Emit(chunk);
            return ValueTask.CompletedTask;
        }
    }
}
