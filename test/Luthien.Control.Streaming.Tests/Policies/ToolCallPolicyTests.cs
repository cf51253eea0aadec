using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Policies;

public class ToolCallPolicyTests
{
    private static async Task<List<StreamChunk>> StreamAsync(ToolCallPolicy policy, string request, params string[] chunks)
    {
        var transaction = TestTransactions.Chat(request);
        transaction.Response.SetStream(200, new ListStreamingIterator(chunks));
        await policy.RunAsync(transaction);
        return await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);
    }

    private const string Request = """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    [Test]
    public async Task ProcessChunk_AllowedParallelCalls_PassFragmentExact()
    {
        string[] upstream =
        [
            Chunks.Role(), Chunks.ToolStart(0, "call_a", "get_weather"), Chunks.ToolArgs(0, "{\"ci"), Chunks.ToolArgs(0, "ty\":\"Paris\"}"),
            Chunks.ToolStart(1, "call_b", "get_weather"), Chunks.ToolArgs(1, "{}"), Chunks.Finish("tool_calls"),
        ];

        var chunks = await StreamAsync(new ToolCallPolicy(["get_weather"]), Request, upstream);

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(upstream));
    }

    [Test]
    public async Task ProcessChunk_BlockedCall_NeverShownAndChoiceEndsWithContentFilter()
    {
        var chunks = await StreamAsync(
            new ToolCallPolicy(["get_weather"]),
            Request,
            Chunks.Role(), Chunks.ToolStart(0, "call_x", "delete_files"), Chunks.ToolArgs(0, "{\"path\":\"/\"}"), Chunks.Finish("tool_calls"));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Not.Contain("delete_files").And.Not.Contain("call_x").And.Not.Contain("path"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_NameSplitAcrossFragments_IsReassembledBeforeJudging()
    {
        // "get_weather_admin" arrives as "get_weather" then "_admin": judging on the first piece would let it through.
        var second = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"_admin"}}]},"finish_reason":null}]}""";

        var chunks = await StreamAsync(
            new ToolCallPolicy(["get_weather"]),
            Request,
            Chunks.ToolStart(0, "call_a", "get_weather"), second, Chunks.ToolArgs(0, "{}"), Chunks.Finish("tool_calls"));

        Assert.That(string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span))), Does.Not.Contain("get_weather"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_AllowedThenBlocked_KeepsAllowedEndsChoice()
    {
        var chunks = await StreamAsync(
            new ToolCallPolicy(allowedTools: null, blockedTools: ["rm"]),
            Request,
            Chunks.ToolStart(0, "call_a", "ls"), Chunks.ToolArgs(0, "{}"), Chunks.ToolStart(1, "call_b", "rm"), Chunks.ToolArgs(1, "{}"), Chunks.Finish("tool_calls"));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Contain("\"ls\"").And.Not.Contain("\"rm\"").And.Not.Contain("call_b"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_TwoChoicesOneBlocked_OtherContinues()
    {
        var chunks = await StreamAsync(
            new ToolCallPolicy(["ok_tool"]),
            """{"model":"m","n":2,"stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            Chunks.ToolStart(0, "call_a", "bad_tool", 0), Chunks.ToolStart(0, "call_b", "ok_tool", 1), Chunks.ToolArgs(0, "{}", 0), Chunks.ToolArgs(0, "{}", 1),
            Chunks.Finish("tool_calls", 0), Chunks.Finish("tool_calls", 1));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Contain("ok_tool").And.Not.Contain("bad_tool"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EquivalentTo(new[] { "content_filter", "tool_calls" }));
    }

    [Test]
    public async Task ProcessChunk_PlainText_PassesUnparsedAndUnchanged()
    {
        string[] upstream = [Chunks.Role(), Chunks.Content("hello"), Chunks.Finish()];

        var chunks = await StreamAsync(new ToolCallPolicy(["x"]), Request, upstream);

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(upstream));
    }

    [Test]
    public async Task ApplyNonStreaming_BlockedCall_RemovedWithContentFilter()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """
            {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"a","type":"function","function":{"name":"get_weather","arguments":"{}"}},
              {"id":"b","type":"function","function":{"name":"delete_files","arguments":"{}"}}]}}]}
            """u8.ToArray(), "application/json");

        await new ToolCallPolicy(["get_weather"]).RunAsync(transaction);

        var choice = JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!;
        Assert.That(choice["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
        Assert.That(choice["message"]!["tool_calls"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()), Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task ApplyNonStreaming_AllowedCalls_Unchanged()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var body = """{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"tool_calls":[{"id":"a","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}}]}"""u8.ToArray();
        transaction.Response.SetBody(200, body, "application/json");

        await new ToolCallPolicy(["get_weather"]).RunAsync(transaction);

        Assert.That(transaction.Response.Body.ToArray(), Is.EqualTo(body));
    }

    [Test]
    public async Task ApplyNonStreaming_BlockedCallBesideNamelessLegacyFunctionCall_CallNeverShown()
    {
        // The nameless function_call is blocked too: it must not make the blocked tool call look like one "before" it.
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """
            {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
              "tool_calls":[{"id":"b","type":"function","function":{"name":"delete_files","arguments":"{}"}}],
              "function_call":{"arguments":"{}"}}}]}
            """u8.ToArray(), "application/json");

        await new ToolCallPolicy(["get_weather"]).RunAsync(transaction);

        var body = Encoding.UTF8.GetString(transaction.Response.Body.Span);
        Assert.That(body, Does.Not.Contain("delete_files"));
        Assert.That(JsonNode.Parse(body)!["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task ProcessChunk_BlockedLegacyCallThenToolCall_ToolCallNeverShown()
    {
        const string legacy = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"function_call":{"name":"evil_fn","arguments":""}},"finish_reason":null}]}""";

        var chunks = await StreamAsync(
            new ToolCallPolicy(["get_weather"]),
            Request,
            legacy, Chunks.ToolStart(0, "call_x", "delete_files"), Chunks.ToolArgs(0, "{}"), Chunks.Finish("tool_calls"));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Not.Contain("evil_fn").And.Not.Contain("delete_files").And.Not.Contain("call_x"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_BlockedCallOneThenCallZero_CallZeroNeverShown()
    {
        // Call 1 comes first and is blocked; call 0, begun after it, was never judged and must not slip out as "before" it.
        var chunks = await StreamAsync(
            new ToolCallPolicy(["get_weather"]),
            Request,
            Chunks.ToolStart(1, "call_b", "delete_files"), Chunks.ToolStart(0, "call_a", "rm_rf"), Chunks.ToolArgs(0, "{}"), Chunks.Finish("tool_calls"));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Not.Contain("delete_files").And.Not.Contain("rm_rf").And.Not.Contain("call_a"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ApplyNonStreaming_BlockedCustomToolCall_RemovedWithContentFilter()
    {
        // Chat completions' custom tools: the name is in "custom", not "function".
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """
            {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"c","type":"custom","custom":{"name":"delete_files","input":"/"}}]}}]}
            """u8.ToArray(), "application/json");

        await new ToolCallPolicy(allowedTools: null, blockedTools: ["delete_files"]).RunAsync(transaction);

        var body = Encoding.UTF8.GetString(transaction.Response.Body.Span);
        Assert.That(body, Does.Not.Contain("delete_files"));
        Assert.That(JsonNode.Parse(body)!["choices"]![0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
    }

    [Test]
    public async Task ProcessChunk_BlockedCustomToolCall_NeverShown()
    {
        const string custom = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_c","type":"custom","custom":{"name":"delete_files","input":""}}]},"finish_reason":null}]}""";
        const string input = """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"custom":{"input":"/"}}]},"finish_reason":null}]}""";

        var chunks = await StreamAsync(new ToolCallPolicy(allowedTools: null, blockedTools: ["delete_files"]), Request, custom, input, Chunks.Finish("tool_calls"));

        var text = string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));
        Assert.That(text, Does.Not.Contain("delete_files").And.Not.Contain("call_c").And.Not.Contain("\"input\":\"/\""));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_CallJudgedAtTheEndAfterTheUsageChunk_UsageChunkStaysUsageOnly()
    {
        // The usage chunk is kept from a client that did not ask for it (the host knows it by its empty choices): the
        // content_filter end must not ride on it, or that client sees usage it did not ask for and no end.
        var chunks = await StreamAsync(
            new ToolCallPolicy(["get_weather"]),
            Request,
            Chunks.ToolStart(0, "call_x", "delete_files"), Chunks.Usage());

        var written = chunks.Where(c => !c.Data.IsEmpty).Select(c => JsonNode.Parse(c.Data.Span)!).ToList();
        Assert.That(written[^1]["usage"], Is.Not.Null);
        Assert.That(written[^1]["choices"]!.AsArray(), Is.Empty);
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
        Assert.That(string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span))), Does.Not.Contain("delete_files"));
    }

    [Test]
    public void Constructor_NoLists_Throws()
    {
        Assert.Throws<ArgumentException>(() => _ = new ToolCallPolicy(null, null));
    }

    [Test]
    public void ProcessChunk_ChunkMentioningToolCallsNotJson_ThrowsInvalidResponse()
    {
        const string broken = """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"rm_rf""";

        var ex = Assert.ThrowsAsync<BackendException>(async () => await StreamAsync(new ToolCallPolicy(["get_weather"]), Request, Chunks.Role(), broken));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task ProcessChunk_ToolCallsNameEscaped_IsStillJudged()
    {
        var escaped = Chunks.ToolStart(0, "call_x", "rm_rf").Replace("\"tool_calls\"", "\"tool\\u005fcalls\"", StringComparison.Ordinal);

        var chunks = await StreamAsync(new ToolCallPolicy(["get_weather"]), Request, Chunks.Role(), escaped, Chunks.Finish("tool_calls"));

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Has.None.Contains("rm_rf"));
    }
}
