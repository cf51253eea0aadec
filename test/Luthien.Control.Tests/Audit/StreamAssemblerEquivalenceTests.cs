using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Luthien.Control.Tests.Audit;

/// <summary>
/// The assembler that reads events' bytes once against the one it replaced (<see cref="StreamAssemblerReference"/>):
/// the same answer, masked, byte for byte, for every stream of the corpus and two masks.
/// </summary>
public sealed class StreamAssemblerEquivalenceTests
{
    private const string Key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
    private const string Chat = "chat.completions";
    private const string Legacy = "completions";
    private const string Responses = "responses";

    private static readonly AuditMask BuiltIn = new([]);

    // A policy's own patterns: one that matches the answer's own word "assistant" as well as content.
    private static readonly AuditMask Extra = new(["(?i)fox", "assist", @"secret-\d+"]);

    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var (name, api, events) in Corpus())
        {
            yield return new TestCaseData(api, events, "built-in").SetName($"Write_{name}_SameAsBefore(built-in)");
            yield return new TestCaseData(api, events, "extra").SetName($"Write_{name}_SameAsBefore(extra)");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Write_Corpus_SameAsBefore(string? api, byte[][] events, string maskName)
    {
        var mask = maskName == "extra" ? Extra : BuiltIn;
        var data = events.Select(e => (ReadOnlyMemory<byte>)e).ToArray();

        var expected = StreamAssemblerReference.Mask(mask, StreamAssemblerReference.Assemble(api, data))!.ToJsonString();

        Assert.That(Written(api, data, mask), Is.EqualTo(expected));
    }

    [Test]
    public void Corpus_Size_AtLeastThirtyStreams()
    {
        Assert.That(Corpus().Count(), Is.GreaterThanOrEqualTo(30));
    }

    internal static string Written(string? api, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask mask)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StreamAssembler.Write(writer, api, events, mask);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static byte[] U(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[][] E(params string[] events) => [.. events.Select(U)];

    private static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static string Deep(int levels, string inner = "1") => new string('[', levels) + inner + new string(']', levels);

    private static IEnumerable<(string Name, string? Api, byte[][] Events)> Corpus()
    {
        yield return ("EmptyChatStream", Chat, []);
        yield return ("EmptyLegacyStream", Legacy, []);
        yield return ("EmptyResponsesStream", Responses, []);
        yield return ("NoApi", null, E("""{"id":"x","choices":[{"index":0,"delta":{"content":"a"}}]}"""));
        yield return ("UnknownApi", "embeddings", E("""{"id":"x","choices":[{"index":0,"text":"a","delta":{"content":"b"}}]}"""));

        yield return ("ChatOneChoiceUsageLast", Chat, E(
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"The quick "},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"brown fox."},"logprobs":null,"finish_reason":null}]}""",
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}""",
            """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":3,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"""));

        yield return ("ChatChoicesOutOfOrder", Chat, E(
            """{"id":"c","choices":[{"index":2,"delta":{"role":"assistant","content":"two-"}},{"index":0,"delta":{"role":"assistant","content":"zero-"}}]}""",
            """{"id":"c","choices":[{"index":1,"delta":{"content":"one-"}},{"index":2,"delta":{"content":"b"}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"length"},{"index":1,"delta":{},"finish_reason":"stop"},{"index":0,"delta":{"content":"c"}}]}""",
            """{"id":"c","choices":[{"index":2,"delta":{},"finish_reason":"stop"},{"index":-1,"delta":{"content":"minus"}}]}"""));

        yield return ("ChatToolCallFragments", Chat, E(
            """{"id":"t","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"lookup","arguments":""}}]}}]}""",
            """{"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","function":{"name":"get_weather","arguments":"{\"ci"}}]}}]}""",
            """{"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Par"}},{"index":1,"function":{"arguments":"{\"q\":"}}]}}]}""",
            """{"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}},{"index":1,"id":null,"type":null,"function":{"name":null,"arguments":"1}"}}]}}]}""",
            """{"id":"t","choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"type":"custom","id":{"odd":true}},{"index":2,"function":"not an object"},{"index":3}]}}]}""",
            """{"id":"t","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"""));

        yield return ("ChatToolCallsOddShapes", Chat, E(
            """{"choices":[{"index":0,"delta":{"tool_calls":{"index":0}}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[1,"x",null,[],{"index":"0"},{"index":1.5},{"id":"no index"}]}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":7,"arguments":{"not":"text"}}}]}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"late","arguments":"[]"}}]}}]}"""));

        yield return ("ChatRefusal", Chat, E(
            """{"choices":[{"index":0,"delta":{"role":"assistant","refusal":""}}]}""",
            """{"choices":[{"index":0,"delta":{"refusal":"I can't "}}]}""",
            """{"choices":[{"index":0,"delta":{"refusal":"help with that."}}]}""",
            """{"choices":[{"index":0,"delta":{"refusal":null},"finish_reason":"stop"}]}"""));

        yield return ("ChatRoleOnlyContentNull", Chat, E(
            """{"choices":[{"index":0,"delta":{"role":5,"content":null}}]}""",
            """{"choices":[{"index":0,"delta":{"role":"tool"}}]}""",
            """{"choices":[{"index":0,"delta":{"role":"assistant"}}]}"""));

        yield return ("ChatNoRoleDefaultAssistant", Chat, E("""{"choices":[{"index":0,"delta":{"content":"x"}},{"index":1}]}"""));

        yield return ("ChatHeadFirstNonNull", Chat, E(
            """{"id":null,"created":null,"model":null,"system_fingerprint":null,"choices":[]}""",
            """{"id":"first","created":1.5e3,"choices":[]}""",
            """{"id":"second","created":7,"model":"m","usage":"not an object","choices":[]}""",
            """{"model":"n","system_fingerprint":false,"usage":{"total_tokens":1}}""",
            """{"usage":{"total_tokens":2,"token":"hidden","note":null}}"""));

        yield return ("ChatHeadOddKinds", Chat, E(
            """{"id":12345678901234567890,"model":{"name":"m","api_key":"hidden","list":[1,"two",{"x":null}]},"created":"soon","system_fingerprint":[true],"choices":[{"index":0,"delta":{"content":"a"}}]}"""));

        yield return ("ChatErrorEvent", Chat, E(
            """{"id":"e","choices":[{"index":0,"delta":{"content":"part"}}]}""",
            """{"id":"ignored","model":"ignored","usage":{"total_tokens":9},"error":{"message":"boom","type":"server_error","code":"backend_unavailable"}}"""));

        yield return ("ChatErrorFirstThenHead", Chat, E(
            """{"error":{"message":"first"}}""",
            """{"id":"later","choices":[{"index":0,"delta":{"content":"a"}}]}""",
            """{"error":{"message":"second","param":null},"choices":null}"""));

        yield return ("ChatErrorWithChoicesIsNoError", Chat, E(
            """{"id":"x","error":{"message":"not an error event"},"choices":[]}""",
            """{"error":{"message":"still not"},"choices":5,"model":"m"}""",
            """{"error":"not an object"}""",
            """{"error":null,"id":"y"}"""));

        yield return ("ChatFinishReasonKinds", Chat, E(
            """{"choices":[{"index":0,"finish_reason":"stop"},{"index":1,"finish_reason":3},{"index":2,"finish_reason":true},{"index":3,"finish_reason":{"x":1}},{"index":4,"finish_reason":["a"]}]}""",
            """{"choices":[{"index":0,"finish_reason":null},{"index":1,"finish_reason":"length"}]}"""));

        yield return ("ChatIndexBounds", Chat, E(
            """{"choices":[{"index":2000000000,"delta":{"content":"far"}},{"index":3000000000,"delta":{"content":"too far"}},{"index":"0","delta":{"content":"string"}},{"index":1.0,"delta":{"content":"fraction"}},{"index":-0,"delta":{"content":"zero"}}]}""",
            """{"choices":[{"index":2147483647,"delta":{"content":"max"}},{"index":-2147483648,"delta":{"content":"min"}},{"index":1e2,"delta":{"content":"exponent"}}]}"""));

        yield return ("ChatOddShapes", Chat, E(
            """{"choices":{"index":0,"delta":{"content":"not an array"}}}""",
            """{"choices":[1,"two",null,[{"index":0}],{"delta":{"content":"no index"}}]}""",
            """{"choices":[{"index":0,"delta":"not an object"},{"index":0,"delta":null},{"index":0,"delta":[{"content":"x"}]}]}""",
            """{"choices":[{"index":0,"text":"chat ignores text","delta":{"content":"kept","extra":{"deep":[1,2,{"a":"b"}]}}}]}"""));

        yield return ("LegacyText", Legacy, E(
            """{"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct","choices":[{"index":1,"text":"B1","logprobs":null,"finish_reason":null},{"index":0,"text":"A1","finish_reason":null}]}""",
            """{"id":"cmpl-1","choices":[{"index":0,"text":" A2","delta":{"content":"legacy ignores delta"},"finish_reason":"length"}]}""",
            """{"id":"cmpl-1","choices":[{"index":1,"text":null,"finish_reason":"stop"},{"index":2,"finish_reason":"stop"}]}""",
            """{"id":"cmpl-1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"""));

        yield return ("LegacyErrorAndOddText", Legacy, E(
            """{"choices":[{"index":0,"text":5},{"index":0,"text":{"a":1}},{"index":0,"text":"ok"}]}""",
            """{"error":{"message":"legacy boom"}}"""));

        yield return ("MalformedEventsBetween", Chat, [
            U("""{"id":"m","choices":[{"index":0,"delta":{"content":"a"}}]}"""),
            U("not json"),
            U(""),
            U("   \r\n\t "),
            U("[1,2,3]"),
            U("\"a string\""),
            U("42"),
            U("null"),
            U("{"),
            U("""{"choices":[{"index":0,"delta":{"content":"trailing garbage"}}]} x"""),
            U("""{"choices":[{"index":0,"delta":{"content":"two"}}]}{"choices":[]}"""),
            U("""/* comment */{"choices":[{"index":0,"delta":{"content":"comment"}}]}"""),
            U("""{"choices":[{"index":0,"delta":{"content":"trailing comma"}},]}"""),
            U("""{'choices':[]}"""),
            U("  \n {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}  \r\n "),
            Cat(Bom, U("""{"choices":[{"index":0,"delta":{"content":"bom"}}]}""")),
            U("""{"choices":[{"index":0,"delta":{"content":"c"}}]}"""),
        ]);

        yield return ("BrokenHalfWayLeavesNothing", Chat, E(
            """{"id":"h","choices":[{"index":0,"delta":{"role":"user","content":"keep"}}]}""",
            """{"id":"broken","usage":{"total_tokens":1},"choices":[{"index":0,"delta":{"role":"assistant","content":"X","tool_calls":[{"index":0,"id":"call_x","function":{"arguments":"Y"}}]},"finish_reason":"stop"},{"index":1,"delta":{"content":"Z"}}],"model": }""",
            """{"choices":[{"index":0,"delta":{"content":"W"}},{"index":1,"delta":{"refusal":"R"}}],"model":"m","x":[1,2,}""",
            """{"choices":[{"index":0,"delta":{"content":"-end"}}]}"""));

        yield return ("DepthBound", Chat, E(
            $$$"""{"choices":[{"index":0,"delta":{"content":"deep"}}],"extra":{{{Deep(70)}}}}""",
            $$$"""{"choices":[{"index":0,"delta":{"content":"deep enough"}}],"extra":{{{Deep(62)}}}}""",
            $$$"""{"choices":[{"index":0,"delta":{"content":"too deep"}}],"extra":{{{Deep(63)}}}}""",
            $$$"""{"usage":{"nested":{{{Deep(60, "\"x\"")}}}},"choices":[]}"""));

        yield return ("InvalidTextSkipsEvent", Chat, [
            U("""{"choices":[{"index":0,"delta":{"content":"a"}}]}"""),
            Cat(U("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad utf8\"}}],\"logprobs\":\""), [0xC3, 0x28], U("\"}")),
            Cat(U("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\""), [0xFF], U("\"}}]}")),
            U("""{"choices":[{"index":0,"delta":{"content":"lone \ud800 high"}}]}"""),
            U("""{"choices":[{"index":0,"delta":{"content":"lone low"}}],"skipped":"\udc00"}"""),
            U("""{"choices":[{"index":0,"delta":{"content":"pair \ud83d\ude00 ok"}}]}"""),
            U("""{"choices":[{"index":0,"delta":{"content":"bad escape \x"}}]}"""),
        ]);

        yield return ("EscapesAndNonAscii", Chat, E(
            """{"id":"\u0063hat\n1","model":"mod\u00e9l","choices":[{"index":0,"delta":{"role":"assistant","\u0063ontent":"line1\nline2\t\"quoted\" \\ back\/slash "}}]}""",
            """{"choices":[{"\u0069ndex":0,"delta":{"content":"héllo wörld — 日本語 😀 <script>&'"}}]}""",
            """{"choices":[{"index":0,"delta":{"content":"\u0041\u00DF\u4E2D\uD834\uDD1E \u2028\u0000\u001f"}}]}""",
            """{"choices":[{"index":0,"finish_reason":"st\u006fp"}]}"""));

        yield return ("SecretsMasked", Chat, E(
            $$$"""{"id":"{{{Key}}}","model":"Bearer abcdefghijklmnop","choices":[{"index":0,"delta":{"role":"assistant","content":"my key is sk-proj-abc"}}]}""",
            """{"choices":[{"index":0,"delta":{"content":"defghijklmnopqrstuvwxyz0123 and secret-42, quick fox"}}]}""",
            $$$"""{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"{{{Key}}}","type":"function","function":{"name":"send_{{{Key}}}","arguments":"{\"key\":\"sk-proj-"}}]}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"abcdefghijklmnopqrstuvwxyz\"}"}}]},"finish_reason":"tool_calls"}]}""",
            $$$"""{"choices":[],"usage":{"total_tokens":1,"note":"{{{Key}}}","password":"p4ss","secret":123,"authorization":null}}"""));

        yield return ("SecretInErrorAndRefusal", Chat, E(
            $$$"""{"choices":[{"index":0,"delta":{"refusal":"no: {{{Key}}}"}}]}""",
            $$$"""{"error":{"message":"bad key {{{Key}}}","api_key":"x","details":[{"token":"abc"},"Bearer abcdefghijklmnop"]}}"""));

        yield return ("LegacySecrets", Legacy, E(
            """{"choices":[{"index":0,"text":"key: sk-proj-abcdefgh"}]}""",
            """{"choices":[{"index":0,"text":"ijklmnopqrstuvwxyz and the Fox"}]}"""));

        yield return ("ManyChunksOneChoice", Chat, [.. Enumerable.Range(0, 60).Select(i => U($$$"""{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"w{{{i}}} "},"logprobs":null,"finish_reason":null}]}"""))]);

        // Events that begin with the bytes an earlier one began with up to its choices are read from there on: what
        // follows must be checked as a whole event's would be.
        const string P = """{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_9","choices":""";
        yield return ("PrefixRepeatsTailBroken", Chat, E(
            P + """[{"index":0,"delta":{"role":"assistant","content":"a"}}]}""",
            P + """[{"index":0,"delta":{"content":"unclosed"}}]""",
            P + """[{"index":0,"delta":{"content":"cut"}""",
            P + """[{"index":0,"delta":{"content":"value missing"}}],"usage": }""",
            P + """[{"index":0,"delta":{"content":"trailing comma"}},]}""",
            P + """[{"index":0,"delta":{"content":"bad literal"}}],"x":tru}""",
            P,
            P + """ """,
            P + """]}""",
            P + """[{"index":0,"delta":{"content":"-b"},"finish_reason":"stop"}]}"""));

        yield return ("PrefixRepeatsTrailingData", Chat, E(
            P + """[{"index":0,"delta":{"content":"a"}}]}""",
            P + """[{"index":0,"delta":{"content":"garbage"}}]} x""",
            P + """[{"index":0,"delta":{"content":"two objects"}}]}{"choices":[]}""",
            P + """[{"index":0,"delta":{"content":"extra brace"}}]}}""",
            P + """[{"index":0,"delta":{"content":"extra comma"}}]},""",
            P + """[{"index":0,"delta":{"content":"second value"}}] [],"x":1}""",
            P + "[{\"index\":0,\"delta\":{\"content\":\"-b\"}}]}  \r\n\t "));

        yield return ("PrefixRepeatsInvalidUtf8InTail", Chat, [
            U(P + """[{"index":0,"delta":{"content":"a"}}]}"""),
            Cat(U(P + "[{\"index\":0,\"delta\":{\"content\":\"bad "), [0xC3, 0x28], U("\"}}]}")),
            Cat(U(P), [0xFF], U("[{\"index\":0,\"delta\":{\"content\":\"at the cut\"}}]}")),
            Cat(U(P + "[{\"index\":0,\"delta\":{\"content\":\"x\"}}],\"note\":\""), [0xE2, 0x82], U("\"}")),
            Cat(U(P + "[{\"index\":0,\"delta\":{\"content\":\"truncated at the end\"}}]}"), [0xF0, 0x9F]),
            Cat(U(P + "[{\"index\":0,\"delta\":{\"content\":\"overlong "), [0xC0, 0xAF], U("\"}}]}")),
            Cat(U(P + "[{\"index\":0,\"delta\":{\"content\":\"surrogate bytes "), [0xED, 0xA0, 0x80], U("\"}}]}")),
            U(P + """[{"index":0,"delta":{"content":"-é😀"}}]}"""),
        ]);

        yield return ("PrefixRepeatsLoneSurrogateInTail", Chat, E(
            P + """[{"index":0,"delta":{"content":"a"}}]}""",
            P + """[{"index":0,"delta":{"content":"lone \ud800 high"}}]}""",
            P + """[{"index":0,"delta":{"content":"lone \udc00 low"}}]}""",
            P + """[{"index":0,"delta":{"content":"high at the end \ud83d"}}]}""",
            P + """[{"index":0,"delta":{"content":"x"}}],"after":"\ude00"}""",
            P + """[{"index":0,"delta":{"content":"x","\ud800":1}}]}""",
            P + """[{"index":0,"delta":{"content":"bad escape \x"}}]}""",
            P + """[{"index":0,"delta":{"content":"short \u12"}}]}""",
            P + """[{"index":0,"delta":{"content":" pair \ud83d\ude00 ok"}}]}"""));

        yield return ("PrefixDiffersInOneByte", Chat, E(
            """{"id":"d","created":1700000000,"usage":{"total_tokens":1},"choices":[{"index":0,"delta":{"content":"a"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":1},"choices":[{"index":0,"delta":{"content":"b"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":2},"choices":[{"index":0,"delta":{"content":"c"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":2}, "choices":[{"index":0,"delta":{"content":"d"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":3},"choice":[{"index":0,"delta":{"content":"not choices"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":4},"\u0063hoices":[{"index":0,"delta":{"content":"e"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":5},"\u0063hoices":[{"index":0,"delta":{"content":"f"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":7},"choices":[{"index":0,"delta":{"content":"g"}}]}""",
            """{"id":"d","created":1700000001,"usage":{"total_tokens":8},"choices":[{"index":0,"delta":{"content":"h"}}]}"""));

        yield return ("PrefixAfterSkippedEvent", Chat, [
            U("""{"id":"s","usage":{"total_tokens":1},"choices":[{"index":0,"delta":{"content":"a"}}]}"""),
            U("""{"id":"s","usage":{"total_tokens":2},"choices":[{"index":0,"delta":{"content":"broken tail"}}],"x": }"""),
            U("""{"id":"s","usage":{"total_tokens":2},"choices":[{"index":0,"delta":{"content":"b"}}]}"""),
            U("""{"id":"s","usage":{"total_tokens":3,"n":"\ud800"},"choices":[{"index":0,"delta":{"content":"lone surrogate before choices"}}]}"""),
            U("""{"id":"s","usage":{"total_tokens":3,"n":"\ud800"},"choices":[{"index":0,"delta":{"content":"the same again"}}]}"""),
            Cat(U("{\"id\":\"s\",\"usage\":{\"total_tokens\":4,\"n\":\""), [0xC3, 0x28], U("\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad utf8 before choices\"}}]}")),
            Cat(U("{\"id\":\"s\",\"usage\":{\"total_tokens\":4,\"n\":\""), [0xC3, 0x28], U("\"},\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the same again\"}}]}")),
            U($$$"""{"id":"s","usage":{"total_tokens":5,"n":{{{Deep(70)}}}},"choices":[{"index":0,"delta":{"content":"too deep before choices"}}]}"""),
            U($$$"""{"id":"s","usage":{"total_tokens":5,"n":{{{Deep(70)}}}},"choices":[{"index":0,"delta":{"content":"the same again"}}]}"""),
            U("""{"id":"s","usage":{"total_tokens":2},"choices":[{"index":0,"delta":{"content":"-c"}}]}"""),
        ]);

        yield return ("PrefixRepeatsUsageOrErrorAfterChoices", Chat, E(
            """{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}""",
            """{"model":"m","choices":[],"id":"after choices"}""",
            """{"model":"m","choices":[{"index":0,"delta":{"content":"b"}}],"usage":{"total_tokens":1}}""",
            """{"model":"m","choices":[],"usage":"not an object"}""",
            """{"model":"m","choices":[],"usage":{"total_tokens":2,"secret":"s3cr3t"},"created":5,"system_fingerprint":"fp"}""",
            """{"model":"m","choices":[{"index":0,"delta":{"content":"c"}}],"error":{"message":"choices and error: no error event"}}""",
            """{"model":"m","choices":null,"error":{"message":"no choices: an error event","code":"x"}}"""));

        yield return ("PrefixRepeatsDepthInTail", Chat, E(
            P + $$$"""[{"index":0,"delta":{"content":"a"}}],"extra":{{{Deep(63)}}}}""",
            P + $$$"""[{"index":0,"delta":{"content":"too deep"}}],"extra":{{{Deep(64)}}}}""",
            P + $$$"""[{"index":0,"delta":{"content":"too deep inside"},"x":{{{Deep(62)}}}}]}""",
            P + $$$"""[{"index":0,"delta":{"content":"-deep enough"},"x":{{{Deep(61)}}}}]}"""));

        yield return ("PrefixWithSpacesAndEscapes", Chat, E(
            """ { "id" : "\u0063hat" , "model":"mod\u00e9l\ud83d\ude00" , "choices"   :  [{"index":0,"delta":{"content":"a"}}] } """,
            """ { "id" : "\u0063hat" , "model":"mod\u00e9l\ud83d\ude00" , "choices"   :  [{"index":0,"delta":{"content":"b"}}],"usage":{"t":1} } """,
            """ { "id" : "\u0063hat" , "model":"mod\u00e9l\ud83d\ude00" , "choices"   :[{"index":0,"delta":{"content":"c"}}]}""",
            """ { "id" : "\u0063hat" , "model":"mod\u00e9l\ud83d\ude00" , "choices"   :  [{"index":0,"delta":{"content":"broken"}}] } } """));

        yield return ("PrefixRepeatsToolCalls", Chat, E(
            P + """[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]}""",
            P + """[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}""",
            P + """[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"broken"}}]}}""",
            P + """[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}""",
            P + """[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"""));

        const string L = """{"id":"cmpl-9","object":"text_completion","created":1,"model":"gpt-3.5-turbo-instruct","choices":""";
        yield return ("LegacyPrefixRepeats", Legacy, [
            U(L + """[{"index":0,"text":"a","logprobs":null,"finish_reason":null}]}"""),
            U(L + """[{"index":0,"text":"b","logprobs":null,"finish_reason":null}]}"""),
            U(L + """[{"index":0,"text":"broken","finish_reason":null}] x"""),
            Cat(U(L + "[{\"index\":0,\"text\":\""), [0xFF], U("\"}]}")),
            U(L + """[{"index":0,"text":"\udfff"}]}"""),
            U(L + """[{"index":0,"text":"c","finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}"""),
        ]);

        yield return ("ResponsesComplete", Responses, E(
            """{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[],"usage":null}}""",
            """{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[],"usage":null}}""",
            """{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}""",
            """{"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hello ","logprobs":[]}""",
            """{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"fox","logprobs":[]}""",
            """{"type":"response.output_text.done","sequence_number":5,"text":"Hello fox"}""",
            """{"type":"response.completed","sequence_number":6,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"Hello fox"}],"role":"assistant"}],"usage":{"input_tokens":10,"output_tokens":2,"total_tokens":12}}}"""));

        yield return ("ResponsesCutShort", Responses, E(
            """{"type":"response.created","response":{"id":"r","status":"in_progress","output":[]}}""",
            """{"type":"response.output_text.delta","delta":"hel"}""",
            """{"type":"response.output_text.delta","delta":""}""",
            """{"type":"response.output_text.delta","delta":7}""",
            """{"type":"response.function_call_arguments.delta","delta":"not text"}""",
            """{"delta":"no type"}""",
            """{"type":"response.output\u005ftext.delta","delta":"lo \u00e9"}"""));

        yield return ("ResponsesCutBeforeAnyResponse", Responses, E(
            """{"type":"response.output_text.delta","delta":"only text"}""",
            """{"type":"response.output_text.delta","delta":" and more"}"""));

        yield return ("ResponsesOnlyEmptyDeltas", Responses, E(
            """{"type":"response.created","response":{"id":"r"}}""",
            """{"type":"response.output_text.delta","delta":""}"""));

        yield return ("ResponsesFailed", Responses, E(
            """{"type":"response.created","response":{"id":"r","status":"in_progress"}}""",
            """{"type":"response.output_text.delta","delta":"partial"}""",
            """{"type":"response.failed","response":{"id":"r","status":"failed","error":{"code":"server_error","message":"x"}}}""",
            """{"type":"response.output_text.delta","delta":"after the end"}"""));

        yield return ("ResponsesIncompleteThenMore", Responses, E(
            """{"type":"response.incomplete","response":{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}""",
            """{"type":"response.in_progress","response":{"id":"r2","status":"in_progress"}}""",
            """{"type":"response.output_text.delta","delta":"x"}"""));

        yield return ("ResponsesErrorFirst", Responses, E(
            $$$"""{"type":"error","code":"rate_limit_exceeded","message":"slow down {{{Key}}}","param":null,"sequence_number":0}""",
            """{"type":"response.created","response":{"id":"r","status":"in_progress"}}""",
            """{"type":"error","code":"second","message":"again"}"""));

        yield return ("ResponsesErrorAfterResponse", Responses, E(
            """{"type":"response.created","response":{"id":"r","status":"in_progress"}}""",
            """{"type":"response.output_text.delta","delta":"some"}""",
            """  {"type":"error","code":"server_error","message":"boom","token":"hidden","response":{"id":"inside error"}}  """));

        yield return ("ResponsesOddShapes", Responses, E(
            """{"type":"response.completed","response":"not an object"}""",
            """{"type":"response.completed"}""",
            """{"type":5,"response":{"id":"typeless"}}""",
            """{"type":"response.output_text.delta","delta":{"text":"object"}}""",
            """{"type":"error"}""",
            """not json""",
            """{"type":"response.output_text.delta","delta":"broken" """,
            """{"type":"response.output_text.delta","delta":"x"}"""));

        yield return ("ResponsesSecrets", Responses, E(
            $$$"""{"type":"response.created","response":{"id":"r","instructions":"use {{{Key}}}","metadata":{"api_key":"k","note":"Bearer abcdefghijklmnop"},"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]}}""",
            $$$"""{"type":"response.output_text.delta","delta":"here: {{{Key}}} and secret-7"}"""));
    }
}
