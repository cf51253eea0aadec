using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Policies;

/// <summary>ToolCallPolicy's argument rules: a call is judged on its whole arguments before any fragment of it is shown.</summary>
public class ToolCallPolicyArgumentRulesTests
{
    private const string Request = """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    private static readonly Dictionary<string, ToolArgumentRules> SqlRules = new()
    {
        ["run_sql"] = new(allow: ["^\\s*\\{\\s*\"query\"\\s*:\\s*\"SELECT "], block: ["(?i)drop\\s+table"]),
        ["*"] = new(block: ["rm -rf"]),
    };

    private static ToolCallPolicy SqlPolicy() => new(allowedTools: null, blockedTools: ["delete_files"], argumentRules: SqlRules);

    /// <summary>A stream of one call whose arguments come in the given fragments.</summary>
    private static string[] Call(string name, params string[] fragments) =>
        [Chunks.Role(), Chunks.ToolStart(0, "call_a", name), .. fragments.Select(f => Chunks.ToolArgs(0, f)), Chunks.Finish("tool_calls")];

    private static async Task<(List<StreamChunk> Chunks, ListStreamingIterator Upstream)> StreamAsync(ToolCallPolicy policy, params string[] chunks)
    {
        var transaction = TestTransactions.Chat(Request);
        var upstream = new ListStreamingIterator(chunks);
        transaction.Response.SetStream(200, upstream);
        await policy.RunAsync(transaction);
        return (await ListStreamingIterator.CollectAsync(transaction.Response.Stream!), upstream);
    }

    private static string AllBytes(IEnumerable<StreamChunk> chunks) => string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));

    private static void AssertBlocked(List<StreamChunk> chunks, string name)
    {
        Assert.That(AllBytes(chunks), Does.Not.Contain(name).And.Not.Contain("call_a").And.Not.Contain("arguments\":\"{"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_ArgumentsMatchAllowAndNoBlock_CallPassesByteForByte()
    {
        var upstream = Call("run_sql", "{\"query\": \"SEL", "ECT * FROM t\"}");

        var (chunks, _) = await StreamAsync(SqlPolicy(), upstream);

        Assert.That(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(upstream));
    }

    [Test]
    public async Task ProcessChunk_ArgumentsMatchNoAllowPattern_CallNeverShown()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{\"query\": \"DELETE FROM t\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_ArgumentsMatchBlockSplitAcrossFragments_CallNeverShown()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{\"query\": \"SELECT 1; DR", "OP   TABLE users\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_AnyToolRule_AppliesToToolWithoutOwnRules()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("shell", "{\"cmd\": \"rm -rf /\"}"));

        AssertBlocked(chunks, "shell");
    }

    [Test]
    public async Task ProcessChunk_AnyToolRule_AppliesBesideTheToolsOwnRules()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{\"query\": \"SELECT 'rm -rf'\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_ToolBlockedByName_BlockedWhateverItsArguments()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("delete_files", "{\"path\": \"/tmp/x\"}"));

        AssertBlocked(chunks, "delete_files");
    }

    [TestCase("{\"query\": \"SELECT 1; \\u0064rop table users\"}")]
    [TestCase("{\"query\": \"SELECT 1; DROP\\ntable users\"}")]
    [TestCase("{\"query\": \"SELECT 1; DROP\\u0009TABLE users\"}")]
    [TestCase("{\"qu\\u0065ry\": \"SELECT 1\", \"x\": \"drop table\"}")]
    public async Task ProcessChunk_BlockedWordsHiddenByJsonEscapes_StillBlocked(string arguments)
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", arguments));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_AllowedPrefixWrittenWithEscapes_Allowed()
    {
        // The tool reads {"query":"SELECT 1"}: escapes and whitespace do not change what the rule sees.
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{ \"\\u0071uery\" :\"\\u0053ELECT 1\" }"));

        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "tool_calls" }));
        Assert.That(AllBytes(chunks), Does.Contain("run_sql"));
    }

    [Test]
    public async Task ProcessChunk_PropertyNamedTwice_NotAllowed()
    {
        // A tool's JSON reader keeps one of the two (often the last): the allowed first one must not vouch for it.
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{\"query\": \"SELECT 1\", \"query\": \"DELETE FROM t\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_LoneSurrogateEscapeInArguments_NotAllowed()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Call("run_sql", "{\"query\": \"SELECT \\ud800\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public async Task ProcessChunk_CustomToolFreeFormInput_JudgedAsText()
    {
        var policy = new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["shell"] = new(allow: ["^ls( |$)"], block: ["rm\\s+-rf"]) });
        string Custom(string json) => $$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{{{json}}}]},"finish_reason":null}]}""";
        var start = Custom("""{"index":0,"id":"call_a","type":"custom","custom":{"name":"shell","input":""}}""");

        var (allowed, _) = await StreamAsync(policy, start, Custom("""{"index":0,"custom":{"input":"ls -la"}}"""), Chunks.Finish("tool_calls"));
        var (blocked, _) = await StreamAsync(policy, start, Custom("""{"index":0,"custom":{"input":"ls; rm\\u0020-rf /"}}"""), Chunks.Finish("tool_calls"));

        Assert.That(Chunks.FinishReasons(allowed), Is.EqualTo(new[] { "tool_calls" }));
        Assert.That(AllBytes(allowed), Does.Contain("ls -la"));
        AssertBlocked(blocked, "shell");
    }

    [Test]
    public async Task ProcessChunk_CallWithRules_NothingOfItShownBeforeItsArgumentsAreWhole()
    {
        var transaction = TestTransactions.Chat(Request);
        var upstream = new ListStreamingIterator(Call("run_sql", "{\"query\": ", "\"SELECT 1\"", "}"));
        transaction.Response.SetStream(200, upstream);
        await SqlPolicy().RunAsync(transaction);

        var readWhenShown = -1;
        await foreach (var chunk in transaction.Response.Stream!)
        {
            if (readWhenShown < 0 && Encoding.UTF8.GetString(chunk.Data.Span).Contains("run_sql", StringComparison.Ordinal))
            {
                readWhenShown = upstream.Read;
            }
        }

        Assert.That(readWhenShown, Is.EqualTo(6), "the call's first fragment comes out only once its end was read");
    }

    [Test]
    public async Task ProcessChunk_CallWithoutRulesBesideRules_StreamedOnceItsNameIsSettled()
    {
        var transaction = TestTransactions.Chat(Request);
        var upstream = new ListStreamingIterator(Chunks.ToolStart(0, "call_a", "get_weather"), Chunks.ToolArgs(0, "{\"city\":"), Chunks.ToolArgs(0, "\"Paris\"}"), Chunks.Finish("tool_calls"));
        transaction.Response.SetStream(200, upstream);
        var rules = new Dictionary<string, ToolArgumentRules> { ["run_sql"] = SqlRules["run_sql"] };
        await new ToolCallPolicy(null, ["delete_files"], rules).RunAsync(transaction);

        await using var enumerator = transaction.Response.Stream!.GetAsyncEnumerator();
        Assert.That(await enumerator.MoveNextAsync(), Is.True);

        Assert.That(upstream.Read, Is.EqualTo(2));
    }

    [Test]
    public async Task ProcessChunk_ArgumentsOutgrowTheHoldLimit_NotAllowedAndStreamEndsWell()
    {
        var policy = new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["*"] = new(block: ["never"]) }) { MaxHeldChunks = 4 };
        var fragments = Enumerable.Range(0, 10).Select(i => i == 0 ? "{\"a\":\"" : "x").Append("\"}").ToArray();

        var (chunks, _) = await StreamAsync(policy, Call("write_file", fragments));

        AssertBlocked(chunks, "write_file");
    }

    [Test]
    public async Task ProcessChunk_ArgumentsOutgrowTheHeldBytes_NotAllowed()
    {
        var policy = new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["*"] = new(block: ["never"]) }) { MaxHeldBytes = 1024 };

        var (chunks, _) = await StreamAsync(policy, Call("write_file", "{\"a\":\"" + new string('x', 2000) + "\"}"));

        AssertBlocked(chunks, "write_file");
    }

    [Test]
    public async Task ProcessChunk_PatternTimesOut_NotAllowed()
    {
        // A backreference keeps the pattern on the backtracking engine, where this input takes exponential time.
        var rules = new Dictionary<string, ToolArgumentRules> { ["slow_tool"] = new(block: ["^(a+)+\\1b"]) };
        var policy = new ToolCallPolicy(null, null, rules, TimeSpan.FromMilliseconds(20));

        var (chunks, _) = await StreamAsync(policy, Call("slow_tool", "{\"a\":\"" + new string('a', 40) + "!\"}"));

        AssertBlocked(chunks, "slow_tool");
        Assert.That(policy.AreArgumentsAllowed("slow_tool", "{\"a\":\"aaaa!\"}"), Is.True, "the pattern itself does not match");
    }

    [Test]
    public async Task ProcessChunk_SecondCallStartsAfterAllowedOne_FirstJudgedThenSecondBlocked()
    {
        var (chunks, _) = await StreamAsync(
            SqlPolicy(),
            Chunks.ToolStart(0, "call_a", "run_sql"), Chunks.ToolArgs(0, "{\"query\":\"SELECT 1\"}"),
            Chunks.ToolStart(1, "call_b", "run_sql"), Chunks.ToolArgs(1, "{\"query\":\"DROP TABLE t\"}"), Chunks.Finish("tool_calls"));

        var text = AllBytes(chunks);
        Assert.That(text, Does.Contain("call_a").And.Contain("SELECT 1").And.Not.Contain("call_b").And.Not.Contain("DROP"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task CompleteStream_StreamEndsWithoutFinish_CallJudgedAtTheEnd()
    {
        var (chunks, _) = await StreamAsync(SqlPolicy(), Chunks.ToolStart(0, "call_a", "run_sql"), Chunks.ToolArgs(0, "{\"query\":\"DROP TABLE t\"}"));

        AssertBlocked(chunks, "run_sql");
    }

    [Test]
    public void ProcessChunk_ArgumentsGoOnAfterTheCallWasJudged_ThrowsInvalidResponse()
    {
        // Call 1 starting completes call 0; more of call 0 after that could turn an allowed call into another.
        var ex = Assert.ThrowsAsync<BackendException>(async () => await StreamAsync(
            SqlPolicy(),
            Chunks.ToolStart(0, "call_a", "run_sql"), Chunks.ToolArgs(0, "{\"query\":\"SELECT 1\"}"),
            Chunks.ToolStart(1, "call_b", "get_weather"), Chunks.ToolArgs(0, "; DROP TABLE t"), Chunks.Finish("tool_calls")));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [Test]
    public async Task ProcessChunk_SparseSlotIndex_JudgedAndEnded()
    {
        // Other APIs number slots by output item: slots need not run 0..n-1.
        var (chunks, upstream) = await StreamAsync(
            SqlPolicy(),
            Chunks.ToolStart(0, "call_a", "run_sql", index: 3), Chunks.ToolArgs(0, "{\"query\":\"DROP TABLE t\"}", index: 3), Chunks.Finish("tool_calls", index: 3), Chunks.Content("after"));

        AssertBlocked(chunks, "run_sql");
        Assert.That(upstream.Read, Is.EqualTo(3), "the only answer ended: nothing more is read");
    }

    [Test]
    public async Task ApplyNonStreaming_ArgumentRules_AllowedCallKeptBlockedCallRemoved()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """
            {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"a","type":"function","function":{"name":"run_sql","arguments":"{\"query\":\"SELECT 1\"}"}},
              {"id":"b","type":"function","function":{"name":"run_sql","arguments":"{\"query\":\"SELECT 1; drop\\ttable t\"}"}}]}}]}
            """u8.ToArray(), "application/json");

        await SqlPolicy().RunAsync(transaction);

        var choice = JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!;
        Assert.That(choice["finish_reason"]!.GetValue<string>(), Is.EqualTo("content_filter"));
        Assert.That(choice["message"]!["tool_calls"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()), Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public async Task ApplyNonStreaming_AllowedArguments_Unchanged()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var body = """{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"tool_calls":[{"id":"a","type":"function","function":{"name":"run_sql","arguments":"{\"query\":\"SELECT 1\"}"}}]}}]}"""u8.ToArray();
        transaction.Response.SetBody(200, body, "application/json");

        await SqlPolicy().RunAsync(transaction);

        Assert.That(transaction.Response.Body.ToArray(), Is.EqualTo(body));
    }

    [Test]
    public async Task ProcessChunk_ContentPolicyAheadReleasesArgumentsOfABlockedCall_ArgumentsNeverShown()
    {
        // The content policy holds "SECRET-1" of the arguments and lets it out at the slot's end, as an added fragment:
        // the tool policy after it must judge (and hide) that fragment like the backend's own.
        var transaction = TestTransactions.Chat(Request);
        transaction.Response.SetStream(200, new ListStreamingIterator(Call("run_sql", "{\"query\":\"DELETE SECRET-1")));
        var chain = new SerialPolicy([new ResponseContentPolicy(["SECRET-[0-9]{6}"]), SqlPolicy()]);

        await chain.RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        AssertBlocked(chunks, "run_sql");
        Assert.That(AllBytes(chunks), Does.Not.Contain("SECRET").And.Not.Contain("DELETE"));
    }

    [Test]
    public void AreArgumentsAllowed_ToolWithoutRules_True()
    {
        var policy = new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["run_sql"] = SqlRules["run_sql"] });

        Assert.That(policy.AreArgumentsAllowed("get_weather", "drop table"), Is.True);
        Assert.That(policy.HasArgumentRules("get_weather"), Is.False);
    }

    [Test]
    public void Constructor_InvalidPattern_ThrowsNamingToolAndField()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["f"] = new(block: ["ok", "(unclosed"]) }));

        Assert.That(ex!.Message, Does.Contain("argument_rules['f'].block[1]"));
    }

    [Test]
    public void Constructor_OnlyArgumentRules_Accepted()
    {
        Assert.DoesNotThrow(() => _ = new ToolCallPolicy(null, null, SqlRules));
    }

    [Test]
    public void ToolArgumentRules_NoPatterns_Throws()
    {
        Assert.Throws<ArgumentException>(() => _ = new ToolArgumentRules([], []));
    }

    [Test]
    public void AreArgumentsAllowed_DeeplyNestedJson_ReadAsJson()
    {
        // Nesting past any reader's default depth must not turn JSON into "free text" judged without its escapes undone.
        var deep = new string('[', 500) + "\"\\u0064rop table\"" + new string(']', 500);

        Assert.That(SqlPolicy().AreArgumentsAllowed("run_sql", deep), Is.False);
        Assert.That(new ToolCallPolicy(null, null, new Dictionary<string, ToolArgumentRules> { ["f"] = new(allow: ["^\\[\\[\"x\"\\]\\]$"]) }).AreArgumentsAllowed("f", "[ [ \"\\u0078\" ] ]"), Is.True);
    }

    [Test]
    public void AreArgumentsAllowed_BrokenJsonWithEscapes_EscapesStillUndone()
    {
        Assert.That(SqlPolicy().AreArgumentsAllowed("run_sql", "{\"query\": \"SELECT 1; \\u0064rop table x\" /* not json */}"), Is.False);
    }

    [Test]
    public void AreArgumentsAllowed_EveryCharacterEscaped_JudgedOnWhatTheToolReads()
    {
        static string Escaped(string text) => string.Concat(text.Select(c => $"\\u{(int)c:x4}"));
        var arguments = $"{{\"{Escaped("query")}\":\"{Escaped("SELECT 1; DROP TABLE t")}\"}}";

        Assert.That(arguments, Does.Not.Contain("DROP").And.Not.Contain("query"));
        Assert.That(SqlPolicy().AreArgumentsAllowed("run_sql", arguments), Is.False);
        Assert.That(SqlPolicy().AreArgumentsAllowed("run_sql", arguments.Replace(Escaped("; DROP TABLE t"), string.Empty, StringComparison.Ordinal)), Is.True);
    }
}
