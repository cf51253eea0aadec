using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

public sealed class MaskedJsonTests
{
    private const string OpenAiKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

    private static readonly AuditMask Mask = new([]);

    [Test]
    public void TryCopy_KeyInNestedString_Masked()
    {
        var json = Copy($$"""{"messages":[{"role":"user","content":[{"type":"text","text":"my key is {{OpenAiKey}} ok"}]}]}""");

        Assert.That(json, Does.Not.Contain("sk-proj-abc"));
        Assert.That(JsonNode.Parse(json!)!["messages"]![0]!["content"]![0]!["text"]!.GetValue<string>(), Is.EqualTo("my key is [REDACTED] ok"));
    }

    [Test]
    public void TryCopy_KeySpelledWithEscape_MaskedAfterUnescaping()
    {
        var json = Copy("{\"content\":\"s\\u006b-proj-abcdefghijklmnopqrstuvwxyz0123456789\"}");

        Assert.That(json, Does.Not.Contain("abcdefghijklmnop"));
        Assert.That(json, Does.Contain("[REDACTED]"));
    }

    [Test]
    public void TryCopy_AnchoredPatternMatchingAWholeString_Masked()
    {
        // "^…$" matches the string alone, never the JSON text around it: the one-scan shortcut must not be taken.
        var mask = new AuditMask(["^CORP-[0-9]{6}$"]);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Assert.That(MaskedJson.TryCopy(writer, mask, """{"note":"fine","id":"CORP-123456"}"""u8), Is.True);
        }

        Assert.That(Encoding.UTF8.GetString(buffer.WrittenSpan), Is.EqualTo("""{"note":"fine","id":"[REDACTED]"}"""));
    }

    [TestCase("""{"a":"no secret here","b":["x",1]}""", true)]
    [TestCase("""{"a":"sk-abcdefghijklmnopqrstuvwxyz012345"}""", false)]
    [TestCase("""{"a":"s\u006b-abcdefghijklmnopqrstuvwxyz012345"}""", false)]
    public void IsCleanJson_Text_TellsOnlyWhenSure(string json, bool clean)
    {
        Assert.That(Mask.IsCleanJson(Encoding.UTF8.GetBytes(json)), Is.EqualTo(clean));
    }

    [Test]
    public void IsCleanJson_AnchoredPattern_NeverSure()
    {
        Assert.That(new AuditMask(["^CORP$"]).IsCleanJson("""{"a":"b"}"""u8), Is.False);
    }

    [Test]
    public void TryCopy_CredentialNamedMember_ValueHidden()
    {
        var json = Copy("""{"metadata":{"api_key":"short","password":12345,"token":true,"secret":null,"Authorization":{"k":"v"},"note":"fine"}}""");

        var metadata = JsonNode.Parse(json!)!["metadata"]!;
        Assert.That(json, Does.Not.Contain("short").And.Not.Contain("12345"));
        Assert.That((string?)metadata["api_key"], Is.EqualTo("***"));
        Assert.That((string?)metadata["password"], Is.EqualTo("***"));
        Assert.That((string?)metadata["token"], Is.EqualTo("***"));
        Assert.That(metadata["secret"], Is.Null);
        Assert.That((string?)metadata["Authorization"]!["k"], Is.EqualTo("v"));
        Assert.That((string?)metadata["note"], Is.EqualTo("fine"));
    }

    [Test]
    public void TryCopy_KeyAsPropertyName_Masked()
    {
        var json = Copy($$$"""{"metadata":{"{{{OpenAiKey}}}":"v","other":"w"}}""");

        Assert.That(json, Does.Not.Contain("abcdefghijklmnop"));
        Assert.That(json, Does.Contain("\"[REDACTED]\":\"v\"").And.Contain("\"other\":\"w\""));
    }

    [Test]
    public void TryCopy_TwoNamesMaskedAlike_BothValuesKept()
    {
        var json = Copy($$"""{"{{OpenAiKey}}":"a","{{OpenAiKey}}x":"b"}""");

        var masked = JsonNode.Parse(json!)!.AsObject();
        Assert.That(masked.Select(p => p.Value!.GetValue<string>()), Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(json, Does.Not.Contain("abcdefghijklmnop"));
    }

    [TestCase($$"""{"{{OpenAiKey}}":"a","[REDACTED]":"b"}""")]
    [TestCase($$"""{"[REDACTED]":"b","{{OpenAiKey}}":"a"}""")]
    [TestCase($$"""{"{{OpenAiKey}}":"a","{{OpenAiKey}}x":"c","[REDACTED]#2":"b"}""")]
    public void TryCopy_MaskedNameSameAsAnotherName_NamesStayUnique(string body)
    {
        // A repeated name would lose a value wherever the row is read by name (jsonb keeps the last one).
        var json = Copy(body);

        using var document = JsonDocument.Parse(json!, new JsonDocumentOptions { AllowDuplicateProperties = false });
        var values = document.RootElement.EnumerateObject().Select(p => p.Value.GetString()).ToList();
        Assert.That(values, Is.EquivalentTo(JsonNode.Parse(body)!.AsObject().Select(p => p.Value!.GetValue<string>())));
        Assert.That(json, Does.Not.Contain("abcdefghijklmnop"));
    }

    [Test]
    public void TryCopy_CleanBody_SameAsTheTreeMaskWrites()
    {
        const string body = """{"model":"m","n":1.50,"big":12345678901234567890123,"ok":true,"no":false,"x":null,"text":"h\u00e9llo \"q\" <b>","list":[1,[2,{}],[]]}""";

        var tree = StreamAssemblerReference.Mask(Mask, JsonNode.Parse(body))!.ToJsonString();

        Assert.That(Copy(body), Is.EqualTo(tree));
    }

    [Test]
    public void TryCopy_ScalarRoot_Copied()
    {
        Assert.That(Copy("\"plain\""), Is.EqualTo("\"plain\""));
        Assert.That(Copy("42"), Is.EqualTo("42"));
    }

    [TestCase("{\"a\":")]
    [TestCase("{\"a\":1} {\"b\":2}")]
    [TestCase("{\"a\":\"\\ud800\"}")]
    [TestCase("not json")]
    [TestCase("")]
    public void TryCopy_Unreadable_FalseAndNothingWritten(string body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        writer.WriteStartObject();
        writer.WritePropertyName("body");

        var copied = MaskedJson.TryCopy(writer, Mask, Encoding.UTF8.GetBytes(body));
        writer.WriteNullValue();
        writer.WriteEndObject();
        writer.Flush();

        Assert.That(copied, Is.False);
        Assert.That(Encoding.UTF8.GetString(buffer.WrittenSpan), Is.EqualTo("{\"body\":null}"));
    }

    [Test]
    public void TryCopy_DeeperThanTheLibraryReads_False()
    {
        var deep = new string('[', JsonHygiene.MaxDepth + 1) + new string(']', JsonHygiene.MaxDepth + 1);

        Assert.That(Copy(deep), Is.Null);
    }

    [Test]
    public void TryCopy_RepeatedName_BothCopied()
    {
        Assert.That(Copy("""{"a":1,"a":2}"""), Is.EqualTo("""{"a":1,"a":2}"""));
    }

    [Test]
    public void WriteString_Secret_Masked()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            MaskedJson.WriteString(writer, Mask, $"key {OpenAiKey}".AsSpan());
        }

        Assert.That(Encoding.UTF8.GetString(buffer.WrittenSpan), Is.EqualTo("\"key [REDACTED]\""));
    }

    private static string? Copy(string json)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        if (!MaskedJson.TryCopy(writer, Mask, Encoding.UTF8.GetBytes(json)))
        {
            return null;
        }

        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
