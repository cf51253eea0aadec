using System.Text;

namespace Luthien.Control.Tests;

public class StreamUsageTests
{
    [TestCase("""{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}],"usage":null}""", """{"id":"c","choices":[{"index":0,"delta":{"content":"x"}}]}""")]
    [TestCase("""{"usage":null,"id":"c","choices":[]}""", """{"id":"c","choices":[]}""")]
    [TestCase("""{"id":"c", "usage" : null , "choices":[]}""", """{"id":"c" , "choices":[]}""")]
    [TestCase("""{"usage":null}""", """{}""")]
    public void FindNullUsageMember_TopLevelNullUsage_CutLeavesTheChunkWithoutIt(string chunk, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(chunk);

        var at = StreamUsage.FindNullUsageMember(bytes, out var length);

        Assert.That(at, Is.GreaterThanOrEqualTo(0));
        var cut = Encoding.UTF8.GetString(bytes, 0, at) + Encoding.UTF8.GetString(bytes, at + length, bytes.Length - at - length);
        Assert.That(cut, Is.EqualTo(expected));
    }

    [TestCase("""{"id":"c","choices":[{"index":0,"delta":{"content":"\"usage\":null"}}]}""")]
    [TestCase("""{"id":"c","choices":[{"index":0,"usage":null,"delta":{}}]}""")]
    [TestCase("""{"id":"c","choices":[],"usage":{"prompt_tokens":1}}""")]
    [TestCase("""not json "usage":null""")]
    public void FindNullUsageMember_NoTopLevelNullUsage_FindsNothing(string chunk)
    {
        var at = StreamUsage.FindNullUsageMember(Encoding.UTF8.GetBytes(chunk), out _);

        Assert.That(at, Is.EqualTo(-1));
    }
}
