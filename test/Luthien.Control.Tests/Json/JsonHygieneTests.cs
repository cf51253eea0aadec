using System.Text;

namespace Luthien.Control.Tests.Json;

public class JsonHygieneTests
{
    [TestCase("""{"a":"plain"}""")]
    [TestCase("""{"a":"h\u00e9 \ud83d\ude00 \\ud800 \" \n"}""")]
    [TestCase("""{"a":"\\\\"}""")]
    public void HasValidText_ReadableText_IsTrue(string json)
    {
        Assert.That(JsonHygiene.HasValidText(Encoding.UTF8.GetBytes(json)), Is.True);
    }

    [TestCase("""{"a":"\ud800"}""")]
    [TestCase("""{"a":"\ud800x"}""")]
    [TestCase("""{"a":"\udc00"}""")]
    [TestCase("""{"a":"\ud800\u0041"}""")]
    [TestCase("""{"\ud800":1}""")]
    public void HasValidText_UnpairedSurrogateEscape_IsFalse(string json)
    {
        Assert.That(JsonHygiene.HasValidText(Encoding.UTF8.GetBytes(json)), Is.False);
    }

    [Test]
    public void HasValidText_InvalidUtf8_IsFalse()
    {
        byte[] json = [.. "{\"a\":\"x"u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.That(JsonHygiene.HasValidText(json), Is.False);
    }

    [TestCase("""{"a":1} x""")]
    [TestCase("""{"a":1,"a":2}""")]
    [TestCase("""[{"a":1}]""")]
    [TestCase("""{"a":"\ud800"}""")]
    [TestCase("""{"\ud800":1}""")]
    public void ValidateObject_UnreadableBody_GivesReasonWithoutTheBody(string json)
    {
        var reason = JsonHygiene.ValidateObject(Encoding.UTF8.GetBytes(json));

        Assert.That(reason, Is.Not.Null);
        Assert.That(reason, Does.Not.Contain("\"a\"").And.Not.Contain("'a'"));
    }

    [Test]
    public void ValidateObject_DeeperThanMaxDepth_GivesReason()
    {
        var json = "{\"a\":" + new string('[', JsonHygiene.MaxDepth) + new string(']', JsonHygiene.MaxDepth) + "}";

        Assert.That(JsonHygiene.ValidateObject(Encoding.UTF8.GetBytes(json)), Is.Not.Null);
    }

    [Test]
    public void HasTooManyTokens_ArrayOfManyZeros_IsTrue()
    {
        var json = ManyZeros(1_200_000);

        Assert.That(JsonHygiene.HasTooManyTokens(json), Is.True);
    }

    [Test]
    public void HasTooManyTokens_LargeBodyOfFewTokens_IsFalse()
    {
        // An image in base64: megabytes, a handful of tokens.
        var json = Encoding.UTF8.GetBytes($$"""{"model":"m","messages":[{"role":"user","content":"{{new string('A', 4_000_000)}}"}]}""");

        Assert.That(JsonHygiene.HasTooManyTokens(json), Is.False);
    }

    [Test]
    public void ValidateObject_ManyTokens_SaysSoBeforeParsing()
    {
        var reason = JsonHygiene.ValidateObject(ManyZeros(1_200_000));

        Assert.That(reason, Does.Contain("JSON tokens"));
    }

    [Test]
    public void Parse_RequestOfManyTokens_ThrowsInvalidRequest()
    {
        var ex = Assert.Throws<InvalidRequestException>(() => TransactionRequest.Parse(RequestKind.ChatCompletion, ManyZeros(1_200_000)));

        Assert.That(ex!.Code, Is.EqualTo("invalid_request"));
        Assert.That(ex.Message, Does.Contain("JSON tokens"));
    }

    /// <summary>A chat request whose extra field is an array of <paramref name="count"/> zeros.</summary>
    private static byte[] ManyZeros(int count)
    {
        var text = new StringBuilder("""{"model":"m","messages":[{"role":"user","content":"hi"}],"x":[0""", count * 2 + 64);
        text.Insert(text.Length, ",0", count - 1);
        return Encoding.UTF8.GetBytes(text.Append("]}").ToString());
    }
}
