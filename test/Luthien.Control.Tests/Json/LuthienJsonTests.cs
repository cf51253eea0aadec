using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Json;

public class LuthienJsonTests
{
    [Test]
    public void ToUtf8Bytes_TextWithAccentsAndMarkup_WrittenCompactWithoutNeedlessEscapes()
    {
        var node = new JsonObject { ["text"] = "héllo <b> & \"q\"", ["n"] = 1 };

        var json = Encoding.UTF8.GetString(LuthienJson.ToUtf8Bytes(node));

        Assert.That(json, Is.EqualTo("""{"text":"héllo <b> & \"q\"","n":1}"""));
    }

    [Test]
    public void ToUtf8Bytes_LargeBodyThenSmallOne_EachWrittenWhole()
    {
        var large = new JsonObject { ["text"] = new string('x', 200_000) };
        var small = new JsonObject { ["a"] = true };

        var first = LuthienJson.ToUtf8Bytes(large);
        var second = LuthienJson.ToUtf8Bytes(small);

        Assert.That(first, Has.Length.EqualTo(200_000 + """{"text":""}""".Length));
        Assert.That(Encoding.UTF8.GetString(second), Is.EqualTo("""{"a":true}"""));
    }
}
