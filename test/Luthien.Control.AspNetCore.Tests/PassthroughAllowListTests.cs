namespace Luthien.Control.AspNetCore.Tests;

public class PassthroughAllowListTests
{
    private static readonly PassthroughAllowList Default = PassthroughAllowList.Parse(null);

    [TestCase("GET", "models")]
    [TestCase("get", "Models/")]
    [TestCase("GET", "models/gpt-4o")]
    [TestCase("GET", "models/ft:gpt-4o:org:x/versions")]
    [TestCase("POST", "embeddings")]
    [TestCase("POST", "moderations/")]
    public void Check_DefaultListAllowedRoute_Allows(string method, string path)
    {
        Assert.That(Default.Check(method, path), Is.Null);
    }

    [TestCase("POST", "models")]
    [TestCase("GET", "models//")]
    [TestCase("GET", "embeddings")]
    [TestCase("POST", "embeddings/x")]
    [TestCase("GET", "files")]
    [TestCase("GET", "")]
    [TestCase("GET", "modelsx")]
    public void Check_DefaultListOtherRoute_Returns404NamingSetting(string method, string path)
    {
        var refusal = Default.Check(method, path);

        Assert.That(refusal?.StatusCode, Is.EqualTo(404));
        Assert.That(refusal!.Code, Is.EqualTo("not_found"));
        Assert.That(refusal.Message, Does.Contain("Luthien:Passthrough:Allow"));
    }

    [Test]
    public void Check_PrefixEntryWithoutMoreSegments_Refuses()
    {
        var list = PassthroughAllowList.Parse(["GET models/*"]);

        Assert.That(list.Check("GET", "models"), Is.Not.Null);
    }

    [TestCase("GET", "chat/completions")]
    [TestCase("POST", "CHAT/COMPLETIONS/")]
    [TestCase("POST", "completions")]
    [TestCase("POST", "responses")]
    [TestCase("POST", "openai/deployments/d/chat/completions")]
    [TestCase("POST", "chat/completions;v=1")]
    public void Check_AllowAllOnPolicedPath_Returns404(string method, string path)
    {
        var list = PassthroughAllowList.Parse(["*"]);

        Assert.That(list.Check(method, path)?.StatusCode, Is.EqualTo(404));
    }

    [Test]
    public void Check_AllowAllOnOtherPath_Allows()
    {
        var list = PassthroughAllowList.Parse(["*"]);

        Assert.That(list.Check("DELETE", "files/f-1"), Is.Null);
    }

    [TestCase("GET", "responses/resp_1")]
    [TestCase("GET", "Responses/resp_1/input_items/")]
    [TestCase("DELETE", "responses/resp_1")]
    [TestCase("GET", "chat/completions/c_1")]
    [TestCase("GET", "chat/completions/c_1/messages")]
    [TestCase("GET", "completions/x")]
    [TestCase("GET", "responses;x=1/resp_1")]
    public void Check_AllowAllBelowPolicedPath_Returns404SayingWhy(string method, string path)
    {
        var list = PassthroughAllowList.Parse(["*"]);

        var refusal = list.Check(method, path);

        Assert.That(refusal?.StatusCode, Is.EqualTo(404));
        Assert.That(refusal!.Code, Is.EqualTo("not_found"));
        Assert.That(refusal.Message, Does.Contain("model output").And.Contain("unpoliced"));
    }

    [TestCase("GET chat/completions/*")]
    [TestCase("GET responses/*")]
    [TestCase("DELETE responses/*")]
    public void Parse_EntryBelowPolicedPath_Refused(string entry)
    {
        var ex = Assert.Throws<ArgumentException>(() => PassthroughAllowList.Parse([entry]));

        Assert.That(ex!.Message, Does.Contain(entry));
    }

    [Test]
    public void Parse_EmptyList_AllowsNothing()
    {
        var list = PassthroughAllowList.Parse([]);

        Assert.That(list.Check("GET", "models"), Is.Not.Null);
    }

    [TestCase("models")]
    [TestCase("GET")]
    [TestCase("G3T models")]
    [TestCase("GET models/*/x")]
    [TestCase("GET models/**")]
    [TestCase("GET a//b")]
    [TestCase("GET ./models")]
    [TestCase("GET mo dels")]
    [TestCase("POST responses")]
    public void TryParse_BadEntry_ReportsSettingAndEntry(string entry)
    {
        var errors = new List<string>();

        var list = PassthroughAllowList.TryParse([entry], errors);

        Assert.That(list, Is.Null);
        Assert.That(errors.Single(), Does.Contain("Luthien:Passthrough:Allow").And.Contain($"'{entry}'"));
    }
}
