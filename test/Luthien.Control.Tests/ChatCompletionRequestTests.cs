using System.Text;

namespace Luthien.Control.Tests;

public class ChatCompletionRequestTests
{
    [TestCase("not json")]
    [TestCase("[1,2]")]
    [TestCase("\"text\"")]
    [TestCase("{\"model\":\"m\"}")]
    [TestCase("{\"model\":\"m\",\"messages\":[]}")]
    [TestCase("{\"model\":\"m\",\"messages\":\"hi\"}")]
    public void Parse_InvalidBody_ThrowsInvalidRequest(string body)
    {
        var ex = Assert.Throws<InvalidRequestException>(() => ChatCompletionRequest.Parse(Encoding.UTF8.GetBytes(body)));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Code, Is.EqualTo("invalid_request"));
    }

    [TestCase("""{"messages":[{"role":"user","content":"\ud800"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x\udc00"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"hi"}],"\ud800":1}""")]
    public void Parse_UnpairedSurrogateEscape_ThrowsInvalidRequest(string body)
    {
        AssertInvalidRequest(Encoding.UTF8.GetBytes(body));
    }

    [Test]
    public void Parse_InvalidUtf8InString_ThrowsInvalidRequest()
    {
        AssertInvalidRequest([.. """{"messages":[{"role":"user","content":"x"""u8, 0xFF, .. "\"}]}"u8]);
    }

    [Test]
    public void Parse_InvalidUtf8InPropertyName_ThrowsInvalidRequest()
    {
        AssertInvalidRequest([.. """{"messages":[{"role":"user","content":"x"}],"a"""u8, 0xC3, .. "\":1}"u8]);
    }

    [TestCase("""{"messages":[{"role":"user","content":"x"}],"model":"a","model":"b"}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x","content":"y"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x"}],"model":"a","mod\u0065l":"b"}""")]
    public void Parse_DuplicatePropertyName_ThrowsInvalidRequest(string body)
    {
        AssertInvalidRequest(Encoding.UTF8.GetBytes(body));
    }

    [Test]
    public void Parse_NestedDeeperThanLimit_ThrowsInvalidRequest()
    {
        var body = """{"messages":[{"role":"user","content":"x"}],"deep":""" + new string('[', 70) + new string(']', 70) + "}";

        AssertInvalidRequest(Encoding.UTF8.GetBytes(body));
    }

    [Test]
    public void Parse_ClientAskedForUsage_FactKeptWhateverIsAskedLater()
    {
        var request = ChatCompletionRequest.Parse("""{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"""u8);

        Assert.That(request.ClientAskedForUsage, Is.True);
        Assert.That(request.AsksUsageClientDidNot, Is.False);
    }

    [Test]
    public void AsksUsageClientDidNot_LibraryAskedAfterParse_True()
    {
        var request = ChatCompletionRequest.Parse("""{"stream":true,"messages":[{"role":"user","content":"hi"}]}"""u8);

        StreamUsage.Ask(request);

        Assert.That(request.IncludeUsage, Is.True);
        Assert.That(request.ClientAskedForUsage, Is.False, "the client's own request did not ask");
        Assert.That(request.AsksUsageClientDidNot, Is.True);
    }

    [Test]
    public void Ask_ClientStreamOptions_UsageAddedOthersKept()
    {
        var request = ChatCompletionRequest.Parse("""{"stream":true,"stream_options":{"x":1},"messages":[{"role":"user","content":"hi"}]}"""u8);

        StreamUsage.Ask(request);

        Assert.That(request.Payload["stream_options"]!.ToJsonString(), Is.EqualTo("""{"x":1,"include_usage":true}"""));
    }

    [Test]
    public void Parse_ValidBody_ExposesTypedFieldsAndKeepsUnknownOnes()
    {
        var request = ChatCompletionRequest.Parse(
            """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"vendor_x":{"a":1}}"""u8);

        Assert.That(request.Model, Is.EqualTo("m"));
        Assert.That(request.Stream, Is.True);
        Assert.That(request.IncludeUsage, Is.True);
        Assert.That(Encoding.UTF8.GetString(request.ToUtf8Bytes()), Does.Contain("\"vendor_x\":{\"a\":1}"));
    }

    [Test]
    public void ToUtf8Bytes_NonAsciiText_IsNotEscaped()
    {
        var request = ChatCompletionRequest.Parse("""{"messages":[{"role":"user","content":"héllo <b>"}]}"""u8);

        Assert.That(Encoding.UTF8.GetString(request.ToUtf8Bytes()), Does.Contain("héllo <b>"));
    }

    [Test]
    public void EnumerateMessageTexts_StringAndPartContents_ReturnsAllText()
    {
        var request = ChatCompletionRequest.Parse(
            """{"messages":[{"role":"system","content":"one"},{"role":"user","content":[{"type":"text","text":"two"},{"type":"image_url","image_url":{"url":"x"}}]}]}"""u8);

        Assert.That(request.EnumerateMessageTexts(), Is.EqualTo(new[] { "one", "two" }));
    }

    private static void AssertInvalidRequest(byte[] body)
    {
        var ex = Assert.Throws<InvalidRequestException>(() => ChatCompletionRequest.Parse(body));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Code, Is.EqualTo("invalid_request"));
    }
}
