using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests;

public class TransactionRequestParseTests
{
    [TestCase("not json")]
    [TestCase("[1,2]")]
    [TestCase("\"text\"")]
    [TestCase("{\"model\":\"m\"}")]
    [TestCase("{\"model\":\"m\",\"messages\":[]}")]
    [TestCase("{\"model\":\"m\",\"messages\":\"hi\"}")]
    public void Parse_InvalidChatBody_ThrowsInvalidRequest(string body)
    {
        AssertInvalidRequest(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(body));
    }

    [TestCase(RequestKind.ChatCompletion, """{"model":"m"}""", "messages")]
    [TestCase(RequestKind.Responses, """{"model":"m"}""", "input")]
    [TestCase(RequestKind.Responses, """{"model":"m","input":""}""", "input")]
    [TestCase(RequestKind.Responses, """{"model":"m","input":[]}""", "input")]
    [TestCase(RequestKind.Responses, """{"model":"m","input":{"role":"user"}}""", "input")]
    [TestCase(RequestKind.Responses, """{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "input")]
    [TestCase(RequestKind.Completion, """{"model":"m"}""", "prompt")]
    [TestCase(RequestKind.Completion, """{"model":"m","prompt":""}""", "prompt")]
    [TestCase(RequestKind.Completion, """{"model":"m","prompt":[]}""", "prompt")]
    [TestCase(RequestKind.Completion, """{"model":"m","prompt":null}""", "prompt")]
    public void Parse_RequiredFieldMissingOrEmpty_ThrowsInvalidRequestNamingIt(RequestKind kind, string body, string field)
    {
        var ex = AssertInvalidRequest(kind, Encoding.UTF8.GetBytes(body));

        Assert.That(ex.Param, Is.EqualTo(field));
        Assert.That(ex.Message, Does.Contain($"'{field}'"));
    }

    [TestCase(RequestKind.ChatCompletion, """{"stream":"yes","messages":[{"role":"user","content":"hi"}]}""")]
    [TestCase(RequestKind.Responses, """{"stream":1,"input":"hi"}""")]
    [TestCase(RequestKind.Completion, """{"stream":{},"prompt":"hi"}""")]
    public void Parse_StreamNotBoolean_ThrowsInvalidRequest(RequestKind kind, string body)
    {
        Assert.That(AssertInvalidRequest(kind, Encoding.UTF8.GetBytes(body)).Param, Is.EqualTo("stream"));
    }

    [TestCase(RequestKind.ChatCompletion, """{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", "chat/completions")]
    [TestCase(RequestKind.Responses, """{"model":"m","stream":true,"input":"hi"}""", "responses")]
    [TestCase(RequestKind.Responses, """{"model":"m","stream":true,"input":[{"role":"user","content":"hi"}]}""", "responses")]
    [TestCase(RequestKind.Completion, """{"model":"m","stream":true,"prompt":"hi"}""", "completions")]
    [TestCase(RequestKind.Completion, """{"model":"m","stream":true,"prompt":[[1,2,3]]}""", "completions")]
    public void Parse_ValidBody_KindModelStreamAndDefaultPath(RequestKind kind, string body, string path)
    {
        var request = TransactionRequest.Parse(kind, Encoding.UTF8.GetBytes(body));

        Assert.That(request.Kind, Is.EqualTo(kind));
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.Path, Is.EqualTo(path));
        Assert.That(request.Model, Is.EqualTo("m"));
        Assert.That(request.IsStreaming, Is.True);
        Assert.That(request.QueryString, Is.Null);
    }

    [Test]
    public void Parse_Passthrough_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TransactionRequest.Parse(RequestKind.Passthrough, "{}"u8));
    }

    [Test]
    public void Create_Payload_KeptAsItIsWithoutValidation()
    {
        var payload = new JsonObject { ["model"] = "m" };

        var request = TransactionRequest.Create(RequestKind.Responses, payload, path: "custom");

        Assert.That(request.Payload, Is.SameAs(payload));
        Assert.That(request.Path, Is.EqualTo("custom"));
        Assert.That(request.Kind, Is.EqualTo(RequestKind.Responses));
    }

    [TestCase("""{"messages":[{"role":"user","content":"\ud800"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x\udc00"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"hi"}],"\ud800":1}""")]
    public void Parse_UnpairedSurrogateEscape_ThrowsInvalidRequest(string body)
    {
        AssertInvalidRequest(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(body));
    }

    [Test]
    public void Parse_InvalidUtf8InString_ThrowsInvalidRequest()
    {
        AssertInvalidRequest(RequestKind.ChatCompletion, [.. """{"messages":[{"role":"user","content":"x"""u8, 0xFF, .. "\"}]}"u8]);
    }

    [Test]
    public void Parse_InvalidUtf8InPropertyName_ThrowsInvalidRequest()
    {
        AssertInvalidRequest(RequestKind.ChatCompletion, [.. """{"messages":[{"role":"user","content":"x"}],"a"""u8, 0xC3, .. "\":1}"u8]);
    }

    [TestCase("""{"messages":[{"role":"user","content":"x"}],"model":"a","model":"b"}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x","content":"y"}]}""")]
    [TestCase("""{"messages":[{"role":"user","content":"x"}],"model":"a","mod\u0065l":"b"}""")]
    public void Parse_DuplicatePropertyName_ThrowsInvalidRequest(string body)
    {
        AssertInvalidRequest(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(body));
    }

    [Test]
    public void Parse_DuplicatePropertyNameInResponsesInput_ThrowsInvalidRequest()
    {
        AssertInvalidRequest(RequestKind.Responses, """{"input":"a","input":"b"}"""u8.ToArray());
    }

    [Test]
    public void Parse_NestedDeeperThanLimit_ThrowsInvalidRequest()
    {
        var body = """{"messages":[{"role":"user","content":"x"}],"deep":""" + new string('[', 70) + new string(']', 70) + "}";

        AssertInvalidRequest(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(body));
    }

    [TestCase(RequestKind.ChatCompletion, """{"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""")]
    [TestCase(RequestKind.Completion, """{"stream":true,"stream_options":{"include_usage":true},"prompt":"hi"}""")]
    public void Parse_ClientAskedForUsage_FactKeptWhateverIsAskedLater(RequestKind kind, string body)
    {
        var request = TransactionRequest.Parse(kind, Encoding.UTF8.GetBytes(body));

        Assert.That(request.ClientAskedForUsage, Is.True);
        Assert.That(request.AsksUsageClientDidNot, Is.False);
    }

    [Test]
    public void IncludeUsage_ResponsesWithStreamOptions_False()
    {
        var request = TransactionRequest.Parse(RequestKind.Responses, """{"stream":true,"stream_options":{"include_usage":true},"input":"hi"}"""u8);

        Assert.That(request.IncludeUsage, Is.False, "a Responses stream carries usage in response.completed; stream_options is not its");
        Assert.That(request.ClientAskedForUsage, Is.False);
    }

    [TestCase(RequestKind.ChatCompletion, """{"stream":true,"messages":[{"role":"user","content":"hi"}]}""")]
    [TestCase(RequestKind.Completion, """{"stream":true,"prompt":"hi"}""")]
    public void AsksUsageClientDidNot_LibraryAskedAfterParse_True(RequestKind kind, string body)
    {
        var request = TransactionRequest.Parse(kind, Encoding.UTF8.GetBytes(body));

        StreamUsage.Ask(request);

        Assert.That(request.IncludeUsage, Is.True);
        Assert.That(request.ClientAskedForUsage, Is.False, "the client's own request did not ask");
        Assert.That(request.AsksUsageClientDidNot, Is.True);
    }

    [Test]
    public void Ask_Responses_Throws()
    {
        var request = TransactionRequest.Parse(RequestKind.Responses, """{"stream":true,"input":"hi"}"""u8);

        Assert.Throws<InvalidOperationException>(() => StreamUsage.Ask(request));
    }

    [Test]
    public void Ask_ClientStreamOptions_UsageAddedOthersKept()
    {
        var request = TransactionRequest.Parse(RequestKind.ChatCompletion, """{"stream":true,"stream_options":{"x":1},"messages":[{"role":"user","content":"hi"}]}"""u8);

        StreamUsage.Ask(request);

        Assert.That(request.Payload!["stream_options"]!.ToJsonString(), Is.EqualTo("""{"x":1,"include_usage":true}"""));
    }

    [Test]
    public void Parse_ValidBody_KeepsUnknownFields()
    {
        var request = TransactionRequest.Parse(
            RequestKind.ChatCompletion,
            """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"vendor_x":{"a":1}}"""u8);

        Assert.That(request.IncludeUsage, Is.True);
        Assert.That(Encoding.UTF8.GetString(request.ToUtf8Bytes()), Does.Contain("\"vendor_x\":{\"a\":1}"));
    }

    [Test]
    public void ToUtf8Bytes_NonAsciiText_IsNotEscaped()
    {
        var request = TransactionRequest.Parse(RequestKind.ChatCompletion, """{"messages":[{"role":"user","content":"héllo <b>"}]}"""u8);

        Assert.That(Encoding.UTF8.GetString(request.ToUtf8Bytes()), Does.Contain("héllo <b>"));
    }

    private static InvalidRequestException AssertInvalidRequest(RequestKind kind, byte[] body)
    {
        var ex = Assert.Throws<InvalidRequestException>(() => TransactionRequest.Parse(kind, body))!;

        Assert.That(ex.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Code, Is.EqualTo("invalid_request"));
        return ex;
    }
}
