using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ContentMergerTests
{
    private static List<AIContent> Merge(IList<AIContent> original, string? text, params WireCall[] calls) =>
        Merge(original, new WireTexts(text), calls);

    private static List<AIContent> Merge(IList<AIContent> original, WireTexts texts, params WireCall[] calls)
    {
        var merger = new ContentMerger();
        var target = new List<AIContent>();
        merger.Reset(texts, calls, usageCarried: false, null, [original]);
        merger.Map(original, target);
        merger.AppendRest(target);
        return target;
    }

    [Test]
    public void Map_SameTextSplit_SplitKept()
    {
        var merged = Merge([new TextContent("a"), new TextContent("b")], "ab");

        Assert.That(merged.Cast<TextContent>().Select(t => t.Text), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void Map_TextRemoved_NoTextContent()
    {
        Assert.That(Merge([new TextContent("secret")], null), Is.Empty);
    }

    [Test]
    public void AppendRest_TextWithoutPlace_AddedAtTheEnd()
    {
        var merged = Merge([new TextReasoningContent("r")], new WireTexts("added", Reasoning: "r"));

        Assert.That(merged.Select(c => c.GetType()), Is.EqualTo(new[] { typeof(TextReasoningContent), typeof(TextContent) }));
    }

    [Test]
    public void Map_ChangeInTheFirstOfSeveralTexts_OthersKeepTheirOwn()
    {
        var merged = Merge([new TextContent("key sk-1."), new TextContent(" more"), new TextContent(" end")], "key [R]. more end");

        Assert.That(merged.Cast<TextContent>().Select(t => t.Text), Is.EqualTo(new[] { "key [R].", " more", " end" }));
    }

    [Test]
    public void Map_TextAddedBetweenKeptTexts_AddedInItsPlace()
    {
        var merged = Merge([new TextContent("a"), new UsageContent(new()), new TextContent("c")], "abc");

        Assert.That(merged.OfType<TextContent>().Select(t => t.Text), Is.EqualTo(new[] { "a", "b", "c" }));
    }

    [Test]
    public void Map_ReasoningRemoved_Gone()
    {
        Assert.That(Merge([new TextReasoningContent("sk-1"), new TextContent("hi")], new WireTexts("hi")).Select(c => c.GetType()), Is.EqualTo(new[] { typeof(TextContent) }));
    }

    [Test]
    public void Map_RefusalChanged_RefusalInPlace()
    {
        var merged = Merge([new ErrorContent("no sk-1") { ErrorCode = "Refusal" }], new WireTexts(null, "no [R]"));

        var refusal = (ErrorContent)merged.Single();
        Assert.That((refusal.Message, refusal.ErrorCode), Is.EqualTo(("no [R]", "Refusal")));
    }

    [Test]
    public void Map_CallArgumentsChanged_RebuiltFromJson()
    {
        var original = new FunctionCallContent("c1", "f", new Dictionary<string, object?> { ["q"] = "sk-1" });

        var call = (FunctionCallContent)Merge([original], null, new WireCall("c1", "f", """{"q":"[REDACTED]"}""")).Single();

        Assert.Multiple(() =>
        {
            Assert.That(call, Is.Not.SameAs(original));
            Assert.That(call.Arguments!["q"]!.ToString(), Is.EqualTo("[REDACTED]"));
        });
    }

    [Test]
    public void AppendRest_CallWithoutOriginal_Added()
    {
        var call = (FunctionCallContent)Merge([], null, new WireCall("c9", "g", "{}")).Single();

        Assert.That((call.CallId, call.Name), Is.EqualTo(("c9", "g")));
    }
}
