using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Policies;

/// <summary>ResponseContentPolicy on every text-bearing kind: each kind (and each call's arguments) a channel of its own.</summary>
public class ResponseContentPolicyChannelTests
{
    private const string Secret = "SECRET-[0-9]{6}";
    private const string Request = """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""";

    public static readonly OutputKind[] Kinds = [OutputKind.Text, OutputKind.Refusal, OutputKind.Reasoning, OutputKind.AudioTranscript, OutputKind.ToolArguments];

    private static string J(string text) => JsonSerializer.Serialize(text);

    private static string Delta(string delta, int index = 0, string finish = "null") =>
        $$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{index}},"delta":{{delta}},"logprobs":null,"finish_reason":{{finish}}}]}""";

    /// <summary>A chunk carrying a piece of text of one kind (arguments: of call <paramref name="call"/>).</summary>
    private static string Piece(OutputKind kind, string text, int index = 0, int call = 0) => Delta(kind switch
    {
        OutputKind.Text => $$"""{"content":{{J(text)}}}""",
        OutputKind.Refusal => $$"""{"refusal":{{J(text)}}}""",
        OutputKind.Reasoning => $$"""{"reasoning_content":{{J(text)}}}""",
        OutputKind.AudioTranscript => $$$"""{"audio":{"transcript":{{{J(text)}}}}}""",
        _ => $$$"""{"tool_calls":[{"index":{{{call}}},"function":{"arguments":{{{J(text)}}}}}]}""",
    }, index);

    private static string ToolStart(int call, string name, int index = 0) =>
        Delta($$$"""{"tool_calls":[{"index":{{{call}}},"id":"call_{{{call}}}","type":"function","function":{"name":"{{{name}}}","arguments":""}}]}""", index);

    private static string Finish(string reason = "stop", int index = 0) => Delta("{}", index, $"\"{reason}\"");

    /// <summary>The chunks of a stream carrying text of one kind, preceded by the call's start for arguments.</summary>
    private static List<string> Stream(OutputKind kind, params string[] pieces)
    {
        var chunks = new List<string>();
        if (kind == OutputKind.ToolArguments)
        {
            chunks.Add(ToolStart(0, "f"));
        }

        chunks.AddRange(pieces.Select(p => Piece(kind, p)));
        chunks.Add(Finish(kind == OutputKind.ToolArguments ? "tool_calls" : "stop"));
        return chunks;
    }

    private static async Task<List<StreamChunk>> RunAsync(ResponseContentPolicy policy, IEnumerable<string> chunks, string request = Request)
    {
        var transaction = TestTransactions.Chat(request);
        transaction.Response.SetStream(200, new ListStreamingIterator([.. chunks]));
        await policy.RunAsync(transaction);
        return await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);
    }

    /// <summary>What the client's bytes say, per chunk, parsed.</summary>
    private static List<JsonNode> Written(IEnumerable<StreamChunk> chunks) =>
        chunks.Where(c => !c.Data.IsEmpty).Select(c => JsonNode.Parse(c.Data.Span)!).ToList();

    private static string AllBytes(IEnumerable<StreamChunk> chunks) => string.Concat(chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)));

    /// <summary>The text of one kind a client assembles from the stream (arguments: of one call).</summary>
    private static string Assembled(IEnumerable<StreamChunk> chunks, OutputKind kind, int index = 0, int call = 0)
    {
        var sb = new StringBuilder();
        foreach (var json in Written(chunks))
        {
            foreach (var choice in json["choices"]!.AsArray())
            {
                if (choice!["index"]!.GetValue<int>() == index && choice["delta"] is JsonObject delta)
                {
                    sb.Append(Field(delta, kind, call));
                }
            }
        }

        return sb.ToString();
    }

    private static string? Field(JsonObject message, OutputKind kind, int call) => kind switch
    {
        OutputKind.Text => message["content"]?.GetValue<string>(),
        OutputKind.Refusal => message["refusal"]?.GetValue<string>(),
        OutputKind.Reasoning => message["reasoning_content"]?.GetValue<string>(),
        OutputKind.AudioTranscript => message["audio"]?["transcript"]?.GetValue<string>(),
        _ => message["tool_calls"]?.AsArray().Select((c, i) => (c, i)).Where(x => (x.c!["index"]?.GetValue<int>() ?? x.i) == call)
            .Select(x => x.c!["function"]?["arguments"]?.GetValue<string>()).FirstOrDefault(),
    };

    [TestCaseSource(nameof(Kinds))]
    public async Task ProcessChunk_MatchSplitAcrossChunksOfAKind_Redacted(OutputKind kind)
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");

        var chunks = await RunAsync(policy, Stream(kind, "a SEC", "RET-12", "3456 b"));

        Assert.That(Assembled(chunks, kind), Is.EqualTo("a [R] b"));
        Assert.That(AllBytes(chunks), Does.Not.Contain("SEC").And.Not.Contain("3456"));
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task ProcessChunk_BlockInAKind_SlotEndsWithContentFilterAndNothingOfTheMatchShown(OutputKind kind)
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Block);

        var chunks = await RunAsync(policy, Stream(kind, "a SECRET-1", "23456 b", " more"));

        Assert.That(Assembled(chunks, kind), Is.EqualTo("a "));
        Assert.That(AllBytes(chunks), Does.Not.Contain("SECRET").And.Not.Contain("23456").And.Not.Contain("more"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task ApplyNonStreaming_AKind_Redacted(OutputKind kind)
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");
        var message = kind switch
        {
            OutputKind.Text => """{"role":"assistant","content":"a SECRET-123456 b"}""",
            OutputKind.Refusal => """{"role":"assistant","content":null,"refusal":"a SECRET-123456 b"}""",
            OutputKind.Reasoning => """{"role":"assistant","content":"","reasoning_content":"a SECRET-123456 b"}""",
            OutputKind.AudioTranscript => """{"role":"assistant","content":null,"audio":{"id":"au","data":"AAAA","transcript":"a SECRET-123456 b"}}""",
            _ => """{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"a SECRET-123456 b"}}]}""",
        };
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, Encoding.UTF8.GetBytes($$"""{"choices":[{"index":0,"message":{{message}},"finish_reason":"stop"}]}"""), "application/json");

        await policy.RunAsync(transaction);

        var written = (JsonObject)JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!["message"]!;
        Assert.That(Field(written, kind, 0), Is.EqualTo("a [R] b"));
    }

    public static IEnumerable<TestCaseData> ScopeCases() =>
    [
        new("text", OutputKind.Text),
        new("refusal", OutputKind.Refusal),
        new("tool_arguments", OutputKind.ToolArguments),
        new("reasoning", OutputKind.Reasoning),
        new("audio_transcript", OutputKind.AudioTranscript),
    ];

    [TestCaseSource(nameof(ScopeCases))]
    public async Task ProcessChunk_ScopeOfOneKind_OnlyThatKindFiltered(string scope, OutputKind kind)
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]", scope: ResponseContentPolicy.ParseScope([scope]));
        var upstream = new List<string> { ToolStart(0, "f") };
        upstream.AddRange(Kinds.Select(k => Piece(k, "x SECRET-123456 y")));
        upstream.Add(Finish("tool_calls"));

        var chunks = await RunAsync(policy, upstream);

        foreach (var other in Kinds)
        {
            Assert.That(Assembled(chunks, other), Is.EqualTo(other == kind ? "x [R] y" : "x SECRET-123456 y"), other.ToString());
        }
    }

    [Test]
    public async Task ProcessChunk_TextThenRefusalThatWouldCompleteAMatch_NoMatchAcrossChannels()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Block);

        var chunks = await RunAsync(policy, [Piece(OutputKind.Text, "a SECRET-"), Piece(OutputKind.Refusal, "123456 b"), Finish()]);

        Assert.That(Assembled(chunks, OutputKind.Text), Is.EqualTo("a SECRET-"));
        Assert.That(Assembled(chunks, OutputKind.Refusal), Is.EqualTo("123456 b"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task ProcessChunk_ArgumentsOfTwoCallsThatWouldMakeAMatch_NoMatchAcrossCalls()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Block);

        var chunks = await RunAsync(policy, [
            ToolStart(0, "f"), Piece(OutputKind.ToolArguments, "SECRET-", call: 0),
            ToolStart(1, "g"), Piece(OutputKind.ToolArguments, "123456", call: 1), Finish("tool_calls")]);

        Assert.That(Assembled(chunks, OutputKind.ToolArguments, call: 0), Is.EqualTo("SECRET-"));
        Assert.That(Assembled(chunks, OutputKind.ToolArguments, call: 1), Is.EqualTo("123456"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "tool_calls" }));
    }

    [Test]
    public async Task ProcessChunk_ChannelsInterleaved_EachMatchFoundInItsOwnChannel()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");

        var chunks = await RunAsync(policy, [
            Piece(OutputKind.Reasoning, "think SECRET-1"), Piece(OutputKind.Text, "say SECRET-9"), Piece(OutputKind.Reasoning, "11111 done"),
            Piece(OutputKind.Text, "99999 end"), Finish()]);

        Assert.That(Assembled(chunks, OutputKind.Reasoning), Is.EqualTo("think [R] done"));
        Assert.That(Assembled(chunks, OutputKind.Text), Is.EqualTo("say [R] end"));
    }

    [Test]
    public async Task ProcessChunk_FinishWithTextHeldInSeveralChannels_AllReleasedBeforeTheEndInOrder()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");

        var chunks = await RunAsync(policy, [
            ToolStart(0, "f"), Piece(OutputKind.ToolArguments, "{\"a\":\"SECRET-1"), Piece(OutputKind.Refusal, "no SECRET-2"), Piece(OutputKind.Text, "t SECRET-3"), Finish()]);

        var written = Written(chunks);
        var last = (JsonObject)written[^1]["choices"]![0]!;
        Assert.That(last["finish_reason"]!.GetValue<string>(), Is.EqualTo("stop"));
        Assert.That(last["delta"]!["content"]!.GetValue<string>(), Is.EqualTo("SECRET-3"));
        Assert.That(last["delta"]!["refusal"]!.GetValue<string>(), Is.EqualTo("SECRET-2"));
        Assert.That(last["delta"]!["tool_calls"]![0]!["index"]!.GetValue<int>(), Is.EqualTo(0));
        Assert.That(last["delta"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>(), Is.EqualTo("SECRET-1"));
        Assert.That(Assembled(chunks, OutputKind.Text), Is.EqualTo("t SECRET-3"));
        Assert.That(Assembled(chunks, OutputKind.ToolArguments), Is.EqualTo("{\"a\":\"SECRET-1"));
    }

    [Test]
    public async Task CompleteStream_NoFinishWithTextHeldInSeveralChannels_ReleasedAtTheEnd()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");

        var chunks = await RunAsync(policy, [Piece(OutputKind.Text, "t SECRET-3"), Piece(OutputKind.AudioTranscript, "heard SECRET-4")]);

        Assert.That(Assembled(chunks, OutputKind.Text), Is.EqualTo("t SECRET-3"));
        Assert.That(Assembled(chunks, OutputKind.AudioTranscript), Is.EqualTo("heard SECRET-4"));
        Assert.That(Chunks.FinishReasons(chunks), Is.Empty);
    }

    [Test]
    public async Task ProcessChunk_BlockInOneChannel_OtherChannelsHeldTextBeforeItReleasedAndRestGoes()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Block);

        var chunks = await RunAsync(policy, [
            Piece(OutputKind.Text, "text SECRET-9"), Piece(OutputKind.Refusal, "refuse SECRET-123456 gone"), Piece(OutputKind.Text, "later"), Finish()]);

        Assert.That(Assembled(chunks, OutputKind.Text), Is.EqualTo("text SECRET-9"));
        Assert.That(Assembled(chunks, OutputKind.Refusal), Is.EqualTo("refuse "));
        Assert.That(AllBytes(chunks), Does.Not.Contain("123456").And.Not.Contain("later").And.Not.Contain("gone"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "content_filter" }));
    }

    [Test]
    public async Task ProcessChunk_TwoChoicesBlockInArgumentsOfOne_OtherGoesOn()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Block);

        var chunks = await RunAsync(
            policy,
            [ToolStart(0, "f", 0), Piece(OutputKind.Text, "fine ", 1), Piece(OutputKind.ToolArguments, "{\"k\":\"SECRET-123456\"}", 0), Piece(OutputKind.Text, "text", 1), Finish("stop", 1), Finish("tool_calls", 0)],
            """{"model":"m","n":2,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(Assembled(chunks, OutputKind.Text, 1), Is.EqualTo("fine text"));
        Assert.That(AllBytes(chunks), Does.Not.Contain("SECRET"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EquivalentTo(new[] { "content_filter", "stop" }));
    }

    [Test]
    public async Task ProcessChunk_SecretInJsonArgumentsSplitAcrossFragments_RedactedArgumentsStayJsonWithEscapedReplacement()
    {
        var policy = new ResponseContentPolicy(["sk-[a-z0-9]{20}"], ContentAction.Redact, "[\"R\\\"]");
        string[] fragments = ["{\"key\": \"sk-abcdefghij", "0123456789\", \"n\": 1}"];

        var chunks = await RunAsync(policy, Stream(OutputKind.ToolArguments, fragments));

        var arguments = Assembled(chunks, OutputKind.ToolArguments);
        var parsed = JsonNode.Parse(arguments)!;
        Assert.That(parsed["key"]!.GetValue<string>(), Is.EqualTo("[\"R\\\"]"));
        Assert.That(parsed["n"]!.GetValue<int>(), Is.EqualTo(1));
    }

    [TestCase("\"password\":\\s*\"[^\"]*\"", "{\"user\":\"u\",\"password\": \"hunter2\"}", "{\"user\":\"u\",\"[R]\": \"[R]\"}")]
    [TestCase("[0-9]{16}", "{\"card\":4111111111111111,\"x\":[1]}", "{\"card\":\"[R]\",\"x\":[1]}")]
    [TestCase("a\", \"b", "{\"k\":\"xa\", \"by\":1}", "{\"k\":\"x[R]\", \"[R]y\":1}")]
    [TestCase("x\\\\", "{\"a\":\"x\\ny\"}", "{\"a\":\"[R]\\ny\"}")]
    [TestCase("e9t", "{\"a\":\"\\u00e9t\"}", "{\"a\":\"\\u0000[R]\"}")]
    [TestCase("n1", "{\"a\":\"line\\n1\"}", "{\"a\":\"line\\\\[R]\"}")]
    public async Task ProcessChunk_MatchTakingJsonStructureInArguments_StructureKeptAndTextStaysJson(string pattern, string arguments, string expected)
    {
        var policy = new ResponseContentPolicy([pattern], ContentAction.Redact, "[R]");

        // Every split into two fragments: the result must not depend on where the fragments were cut.
        for (var cut = 1; cut < arguments.Length; cut++)
        {
            var chunks = await RunAsync(policy, Stream(OutputKind.ToolArguments, arguments[..cut], arguments[cut..]));
            var written = Assembled(chunks, OutputKind.ToolArguments);

            Assert.That(written, Is.EqualTo(expected), $"cut at {cut}");
            Assert.DoesNotThrow(() => JsonDocument.Parse(written).Dispose(), written);
        }
    }

    [Test]
    public async Task ApplyNonStreaming_MatchInJsonArguments_RedactedArgumentsStayJson()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "a \"quoted\" \\ [R]");
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """
            {"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"c","type":"function","function":{"name":"f","arguments":"{\"code\":\"SECRET-123456\"}"}}]}}]}
            """u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        var arguments = JsonNode.Parse(transaction.Response.Body.Span)!["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>();
        Assert.That(JsonNode.Parse(arguments)!["code"]!.GetValue<string>(), Is.EqualTo("a \"quoted\" \\ [R]"));
    }

    [Test]
    public async Task ProcessChunk_CustomToolFreeFormInput_ReplacementInsertedAsIsAndHeldInputWrittenToInput()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[\"R\"]");
        var start = Delta("""{"tool_calls":[{"index":0,"id":"call_c","type":"custom","custom":{"name":"shell","input":""}}]}""");
        string Input(string text) => Delta($$$"""{"tool_calls":[{"index":0,"custom":{"input":{{{J(text)}}}}}]}""");

        var chunks = await RunAsync(policy, [start, Input("echo SECRET-1"), Input("23456 && echo SECRET-9"), Finish("tool_calls")]);

        var input = string.Concat(Written(chunks).SelectMany(j => j["choices"]!.AsArray())
            .Select(c => c!["delta"]?["tool_calls"]?[0]?["custom"]?["input"]?.GetValue<string>()));
        Assert.That(input, Is.EqualTo("echo [\"R\"] && echo SECRET-9"));
        Assert.That(AllBytes(chunks), Does.Not.Contain("\"function\""));
    }

    [Test]
    public async Task ProcessChunk_LegacyFunctionCallArgumentsHeldToTheEnd_WrittenToFunctionCall()
    {
        var policy = new ResponseContentPolicy([Secret], ContentAction.Redact, "[R]");
        string Call(string json) => Delta($$"""{"function_call":{{json}}}""");

        var chunks = await RunAsync(policy, [Call("""{"name":"f","arguments":""}"""), Call($$"""{"arguments":{{J("{\"a\":\"SECRET-12")}}}"""), Finish("function_call")]);

        var arguments = string.Concat(Written(chunks).SelectMany(j => j["choices"]!.AsArray())
            .Select(c => c!["delta"]?["function_call"]?["arguments"]?.GetValue<string>()));
        Assert.That(arguments, Is.EqualTo("{\"a\":\"SECRET-12"));
        Assert.That(AllBytes(chunks), Does.Not.Contain("\"tool_calls\""));
    }

    [Test]
    public void ProcessChunk_ArgumentsAfterTheSlotsFinish_ThrowsInvalidResponse()
    {
        var policy = new ResponseContentPolicy([Secret]);

        var ex = Assert.ThrowsAsync<BackendException>(async () => await RunAsync(policy, [ToolStart(0, "f"), Finish("tool_calls"), Piece(OutputKind.ToolArguments, "123456")]));

        Assert.That(ex!.Code, Is.EqualTo("backend_invalid_response"));
    }

    [TestCase("TEXT", ContentScope.Text)]
    [TestCase(" tool_arguments ", ContentScope.ToolArguments)]
    [TestCase("audio_transcript,reasoning", ContentScope.AudioTranscript | ContentScope.Reasoning)]
    public void ParseScope_KnownNames_Combined(string names, ContentScope expected)
    {
        Assert.That(ResponseContentPolicy.ParseScope(names.Split(',')), Is.EqualTo(expected));
    }

    [Test]
    public void ParseScope_Null_All()
    {
        Assert.That(ResponseContentPolicy.ParseScope(null), Is.EqualTo(ContentScope.All));
    }

    [TestCase("content")]
    [TestCase("tool-arguments")]
    [TestCase("")]
    public void ParseScope_UnknownName_ThrowsNamingIt(string name)
    {
        var ex = Assert.Throws<ArgumentException>(() => ResponseContentPolicy.ParseScope(["text", name]));

        Assert.That(ex!.Message, Does.Contain($"scope '{name}'"));
    }

    [Test]
    public void ParseScope_Empty_Throws()
    {
        Assert.Throws<ArgumentException>(() => ResponseContentPolicy.ParseScope([]));
    }

    [TestCase(ContentScope.None)]
    [TestCase((ContentScope)64)]
    public void Constructor_ScopeOfNoKnownKind_Throws(ContentScope scope)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ResponseContentPolicy([Secret], scope: scope));
    }
}
