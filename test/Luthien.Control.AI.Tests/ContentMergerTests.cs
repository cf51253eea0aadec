using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class ContentMergerTests
{
    private static List<AIContent> Merge(IList<AIContent> original, string? text, params WireCall[] calls)
    {
        var merger = new ContentMerger();
        var target = new List<AIContent>();
        merger.Reset(text, calls, usageCarried: false, null, [original]);
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
        var merged = Merge([new TextReasoningContent("r")], "added");

        Assert.That(merged.Select(c => c.GetType()), Is.EqualTo(new[] { typeof(TextReasoningContent), typeof(TextContent) }));
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
