using System.Text;

namespace Luthien.Control.Streaming.Tests.Text;

public class ChoiceScannerTests
{
    private static (bool Ok, bool HasChoices, List<ChoiceDelta> Choices) Scan(string json)
    {
        var choices = new List<ChoiceDelta>();
        var ok = ChoiceScanner.TryScan(Encoding.UTF8.GetBytes(json), choices, null, out var hasChoices);
        return (ok, hasChoices, choices);
    }

    [Test]
    public void TryScan_TypicalChunk_ReadsIndexContentAndFinishReason()
    {
        var (ok, hasChoices, choices) = Scan(Chunks.Content("hello", index: 2));

        Assert.That(ok && hasChoices, Is.True);
        Assert.That(choices, Is.EqualTo(new[] { new ChoiceDelta(2, "hello", null, false) }));
    }

    [Test]
    public void TryScan_EscapedTextAndNestedChoicesBeforeTheRealOne_ReadsTheTopLevelArray()
    {
        const string json = """{"id":"x\"choices\":[{\"index\":9}]","vendor":{"choices":[{"index":7,"delta":{"content":"decoy"}}]},"choices":[{"index":0,"delta":{"content":"a\"b\u0073"},"finish_reason":"stop"}]}""";

        var (ok, hasChoices, choices) = Scan(json);

        Assert.That(ok && hasChoices, Is.True);
        Assert.That(choices, Is.EqualTo(new[] { new ChoiceDelta(0, "a\"bs", "stop", false) }));
    }

    [Test]
    public void TryScan_TwoTopLevelChoicesArrays_GivesUp()
    {
        const string json = """{"choices":[{"index":0,"delta":{"content":"shown"}}],"choices":[{"index":0,"delta":{"content":"other"}}]}""";

        Assert.That(Scan(json).Ok, Is.False);
    }

    [Test]
    public void TryScan_NoChoices_SucceedsWithoutChoices()
    {
        var (ok, hasChoices, choices) = Scan("""{"id":"x","usage":{"prompt_tokens":1,"choices":2}}""");

        Assert.That(ok, Is.True);
        Assert.That(hasChoices, Is.False);
        Assert.That(choices, Is.Empty);
    }

    [TestCase("[1,2]")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":"cut""")]
    [TestCase("""{"id":"unterminated""")]
    [TestCase("""{"choices":{"index":0}}""")]
    public void TryScan_NotAChunkOrBroken_GivesUp(string json)
    {
        Assert.That(Scan(json).Ok, Is.False);
    }

    [Test]
    public void TryScan_DeltaWithRole_ReportsOtherFields()
    {
        var (ok, _, choices) = Scan(Chunks.Role());

        Assert.That(ok, Is.True);
        Assert.That(choices.Single().DeltaHasOtherFields, Is.True);
    }

    [Test]
    public void TryScanToolCalls_Fragments_ListsChoiceAndCallIndexes()
    {
        var calls = new List<(int Choice, int Call)>();

        var ok = ChoiceScanner.TryScanToolCalls(Encoding.UTF8.GetBytes(Chunks.ToolStart(1, "call_1", "get_weather", index: 3)), calls, null);

        Assert.That(ok, Is.True);
        Assert.That(calls, Is.EqualTo(new[] { (3, 1) }));
    }

    [Test]
    public void TryScan_StreamWithRememberedPrefix_ReadsEveryChunkAsAFullReadWould()
    {
        string[] stream =
        [
            Chunks.Role(), Chunks.Content("one"), Chunks.Content("two", index: 1), Chunks.Content("three"),
            Chunks.Content("with \"quotes\", a \\ and a\nnewline"), Chunks.Content("é ü 😀"), Chunks.Content(""),
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"\u0073k-"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"bad \x"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"delta":{"content":"b"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a","content":"b"},"finish_reason":null}]}""",
            Chunks.Content("four"), Chunks.Finish(),
            """{"id":"other","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"new id"},"finish_reason":null}]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"}}],"choices":[]}""",
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"cut""",
            Chunks.Usage(),
        ];
        var shapes = new ChunkShapeCache();

        foreach (var json in stream)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            List<ChoiceDelta> withPrefix = [], without = [];
            var okWith = ChoiceScanner.TryScan(bytes, withPrefix, shapes, out var hasWith);
            var okWithout = ChoiceScanner.TryScan(bytes, without, null, out var hasWithout);

            Assert.That((okWith, hasWith), Is.EqualTo((okWithout, hasWithout)), json);
            if (okWith)
            {
                Assert.That(withPrefix, Is.EqualTo(without), json);
            }
        }

        Assert.That(shapes.PrefixLength, Is.GreaterThan(0));
        Assert.That(shapes.ShapeReads, Is.GreaterThanOrEqualTo(5), "the text chunks after the first are read by their shape");
    }

    [Test]
    public void TryScanToolCalls_StreamWithRememberedShape_ListsWhatAFullReadWould()
    {
        string[] stream =
        [
            Chunks.ToolStart(0, "call_1", "get_weather"), Chunks.ToolArgs(0, "{\"ci"), Chunks.ToolArgs(0, "ty\":\"Pa"),
            Chunks.ToolArgs(0, "ris \\\" é\"}"), Chunks.ToolArgs(1, "{}"), Chunks.ToolArgs(0, "x", index: 2),
            """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"a"}},{"index":3,"function":{"arguments":"b"}}]},"finish_reason":null}]}""",
            Chunks.ToolArgs(0, "}"), Chunks.Finish("tool_calls"),
        ];
        var shapes = new ChunkShapeCache();

        foreach (var json in stream)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            List<(int Choice, int Call)> withShapes = [], without = [];

            var okWith = ChoiceScanner.TryScanToolCalls(bytes, withShapes, shapes);
            var okWithout = ChoiceScanner.TryScanToolCalls(bytes, without, null);

            Assert.That(okWith, Is.EqualTo(okWithout), json);
            Assert.That(withShapes, Is.EqualTo(without), json);
        }

        Assert.That(shapes.ShapeReads, Is.EqualTo(2), "the two fragments that repeat the one before them are read by their shape");
    }

    [Test]
    public void TryScan_InvalidUtf8InContent_GivesUp()
    {
        var choices = new List<ChoiceDelta>();

        var ok = ChoiceScanner.TryScan(WithInvalidUtf8InContent(), choices, null, out _);

        Assert.That(ok, Is.False);
    }

    [Test]
    public void TryScan_InvalidUtf8InContentOfLearnedShape_GivesUp()
    {
        var shapes = new ChunkShapeCache();
        var choices = new List<ChoiceDelta>();
        ChoiceScanner.TryScan(Encoding.UTF8.GetBytes(Chunks.Content("first")), choices, shapes, out _);

        var ok = ChoiceScanner.TryScan(WithInvalidUtf8InContent(), choices, shapes, out _);

        Assert.That(ok, Is.False);
    }

    [Test]
    public void TryScan_UnpairedSurrogateEscapeInContent_GivesUp()
    {
        Assert.That(Scan(Chunks.Content("x").Replace("\"x\"", "\"\\ud800\"", StringComparison.Ordinal)).Ok, Is.False);
    }

    [TestCase("""{"choices":[{"index":0,"delta":{"content":"SECRET","content":"safe"}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":"SECRET"},"delta":{"content":"safe"}}]}""")]
    [TestCase("""{"choices":[{"index":0,"index":1,"delta":{"content":"x"}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":"SECRET","con\u0074ent":"safe"}}]}""")]
    public void TryScan_FieldItReadsRepeated_GivesUp(string json)
    {
        Assert.That(Scan(json).Ok, Is.False);
    }

    // A value the scanner does not read as a string must be skipped whole: read token by token, the scanner lost its
    // place and took the end of the parts array for the end of `choices`, missing whatever came after it.
    [TestCase("""{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":""}]}},{"index":1,"delta":{"content":"SECRET"}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":[{"type":"text","text":""}],"tool_calls":[{"index":0,"function":{"name":"rm"}}]}}]}""")]
    [TestCase("""{"choices":[{"index":0,"delta":{"content":{"text":"x"}}}]}""")]
    [TestCase("""{"choices":[{"index":0,"finish_reason":{"a":{}},"delta":{"content":"x"}}]}""")]
    public void TryScan_ContentOrFinishReasonNotAString_GivesUp(string json)
    {
        Assert.That(Scan(json).Ok, Is.False);
    }

    [Test]
    public void TryScanToolCalls_ToolCallsRepeated_GivesUp()
    {
        const string json = """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}],"tool_calls":[{"index":1}]}}]}""";

        Assert.That(ChoiceScanner.TryScanToolCalls(Encoding.UTF8.GetBytes(json), [], null), Is.False);
    }

    /// <summary>A text chunk whose content holds a byte that is not UTF-8 (the shape of <see cref="Chunks.Content"/>).</summary>
    private static byte[] WithInvalidUtf8InContent()
    {
        var bytes = Encoding.UTF8.GetBytes(Chunks.Content("secon"));
        var at = bytes.AsSpan().IndexOf("secon"u8);
        bytes[at + 4] = 0xFF;
        return bytes;
    }
}

/// <summary>A string token read with the text it is known to carry: the same string when it holds exactly that, else a copy of what it holds.</summary>
public class ChoiceScannerKnownTextTests
{
    [TestCase("hello there", "\"hello there\"")]
    [TestCase("héllo 🌍 there", "\"héllo 🌍 there\"")]
    [TestCase("", "\"\"")]
    public void TryReadString_TokenHoldsExactlyTheKnownText_GivesThatString(string known, string token)
    {
        var ok = ChoiceScanner.TryReadString(System.Text.Encoding.UTF8.GetBytes(token), out var value, known);

        Assert.That(ok, Is.True);
        Assert.That(value, Is.SameAs(known));
    }

    [TestCase("hello there", "\"hello  there\"", "hello  there")]
    [TestCase("a\"b", "\"a\\\"b\"", "a\"b")]
    [TestCase("line\nbreak", "\"line\\nbreak\"", "line\nbreak")]
    [TestCase("hello", "\"hello!\"", "hello!")]
    public void TryReadString_TokenHoldsOtherOrEscapedText_GivesWhatTheTokenHolds(string known, string token, string expected)
    {
        var ok = ChoiceScanner.TryReadString(System.Text.Encoding.UTF8.GetBytes(token), out var value, known);

        Assert.That(ok, Is.True);
        Assert.That(value, Is.EqualTo(expected));
        Assert.That(value, Is.Not.SameAs(known));
    }

    [Test]
    public void TryReadString_KnownTextButTokenNotAString_False()
    {
        Assert.That(ChoiceScanner.TryReadString("\"abc"u8, out _, "abc"), Is.False);
    }
}
