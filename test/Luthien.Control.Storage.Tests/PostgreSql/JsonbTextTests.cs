using System.Text.Json.Nodes;
using Luthien.Control.PostgreSql;

namespace Luthien.Control.Storage.Tests.PostgreSql;

public sealed class JsonbTextTests
{
    [TestCase("""{"model":"gpt-4o","messages":[{"role":"user","content":"h\u00e9llo \"q\" \\ \n \ud83d\ude00"}],"temperature":0.7,"max_tokens":100,"x":-1.5e-10}""")]
    [TestCase("[]")]
    [TestCase("  null ")]
    [TestCase("123456789012345678901234567890")]
    [TestCase("""{"escaped backslash":"\\u0000"}""")]
    public void ForJsonb_JsonJsonbTakes_ReturnedUnchanged(string json)
    {
        Assert.That(JsonbText.ForJsonb(json), Is.SameAs(json));
    }

    [Test]
    public void ForJsonb_Null_ReturnsNull()
    {
        Assert.That(JsonbText.ForJsonb(null), Is.Null);
    }

    [TestCase("""{"t":"a\u0000b"}""", """{"t":"a\ufffdb"}""")]
    [TestCase("""{"t":"\\\u0000"}""", """{"t":"\\\ufffd"}""")]
    [TestCase("""{"t\u0000":1}""", """{"t\ufffd":1}""")]
    [TestCase("""["\ud800"]""", """["\ufffd"]""")]
    [TestCase("""["\uDBFF\u0041"]""", """["\ufffd\u0041"]""")]
    [TestCase("""["\udc00\ud800"]""", """["\ufffd\ufffd"]""")]
    [TestCase("""["x\ud83d\ude00\udc00"]""", """["x\ud83d\ude00\ufffd"]""")]
    [TestCase("""["\ud800\ud83d\ude00"]""", """["\ufffd\ud83d\ude00"]""")]
    public void ForJsonb_EscapesJsonbRefuses_ReplacedByU_FFFD(string json, string expected)
    {
        Assert.That(JsonbText.ForJsonb(json), Is.EqualTo(expected));
    }

    [TestCase("[1e999999]", """["1e999999"]""")]
    [TestCase("""{"a":1E+41,"b":1e40,"c":-2.5e-041}""", """{"a":"1E+41","b":1e40,"c":"-2.5e-041"}""")]
    [TestCase("[12345678901234567890123456789012345678901]", """["12345678901234567890123456789012345678901"]""")]
    [TestCase("[1e0000000000000000000000000000000000001]", "[1e0000000000000000000000000000000000001]")]
    public void ForJsonb_NumbersBeyondBound_StoredAsTheirText(string json, string expected)
    {
        Assert.That(JsonbText.ForJsonb(json), Is.EqualTo(expected));
    }

    [TestCase("not json {")]
    [TestCase("")]
    [TestCase("{\"a\":1} trailing")]
    [TestCase("{\"a\":\"raw \0 nul\"}")]
    public void ForJsonb_NotJson_StoredAsOneJsonString(string text)
    {
        var stored = JsonbText.ForJsonb(text);

        Assert.That(JsonNode.Parse(stored!)!.GetValue<string>(), Is.EqualTo(text.Replace('\0', '\uFFFD')));
    }

    [Test]
    public void ForJsonb_LoneSurrogateChar_BecomesReplacementCharacter()
    {
        var stored = JsonbText.ForJsonb("{\"t\":\"a\uD800b\"}");

        Assert.That(stored, Is.EqualTo("{\"t\":\"a\uFFFDb\"}"));
    }

    [Test]
    public void ForJsonb_NestedDeeperThanTheBound_StoredAsOneJsonString()
    {
        var json = new string('[', 1001) + new string(']', 1001);

        Assert.That(JsonNode.Parse(JsonbText.ForJsonb(json)!)!.GetValue<string>(), Is.EqualTo(json));
    }
}
