using System.Text.Json;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>Values reach a page encoded unless the area made them as markup.</summary>
public sealed class AdminHtmlTests
{
    [Test]
    public void Append_InterpolatedValues_AreEncoded()
    {
        var text = "<b onclick=\"x\">'&";
        object boxed = text;
        var html = new AdminHtml().Append($"<td title=\"{text}\">{boxed}</td>").ToString();

        Assert.That(html, Is.EqualTo("<td title=\"&lt;b onclick=&quot;x&quot;&gt;&#x27;&amp;\">&lt;b onclick=&quot;x&quot;&gt;&#x27;&amp;</td>"));
    }

    [Test]
    public void Append_RawHtml_IsKept()
    {
        var html = new AdminHtml().Append($"<p>{new RawHtml("<em>made here</em>")}</p>").ToString();

        Assert.That(html, Is.EqualTo("<p><em>made here</em></p>"));
    }

    [Test]
    public void Append_NonAsciiText_StaysReadable()
    {
        var html = new AdminHtml().Append($"{"Grüße → 東京"}").ToString();

        Assert.That(html, Is.EqualTo("Grüße → 東京"));
    }

    [Test]
    public void ToHtml_JsonWithMarkup_KeysAndStringsEncoded()
    {
        using var document = JsonDocument.Parse("{\"<k>\":\"</pre><script>\",\"n\":[1,true,null]}");

        var html = AdminJson.ToHtml(document.RootElement).Value;

        Assert.That(html, Does.Not.Contain("<script>").And.Not.Contain("</pre>").And.Not.Contain("<k>"));
        Assert.That(html, Does.Contain("&lt;/pre&gt;&lt;script&gt;"));
        Assert.That(html, Does.Contain("<span class=\"jn\">1</span>, <span class=\"jl\">true</span>"));
    }

    [Test]
    public void ToHtml_TextThatIsNotJson_ShownEncoded()
    {
        Assert.That(AdminJson.ToHtml("<not json>").Value, Is.EqualTo("&lt;not json&gt;"));
    }
}
