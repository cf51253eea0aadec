using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>A bad <c>Luthien:Passthrough:Allow</c> entry stops the app at start, naming the setting and the entry.</summary>
public class PassthroughAllowStartupTests
{
    [TestCase("models")]
    [TestCase("GET models/*/x")]
    [TestCase("GET models/../files")]
    [TestCase("POST chat/completions")]
    [TestCase("GET responses/*")]
    [TestCase("GET mo%2Fdels")]
    public void Start_BadAllowEntry_FailsNamingSettingAndEntry(string entry)
    {
        var ex = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var host = await LuthienTestHost.StartAsync(new() { ["Luthien:Passthrough:Allow:0"] = entry });
        });

        Assert.That(ex!.Message, Does.Contain("Luthien:Passthrough:Allow").And.Contain(entry));
    }

    [Test]
    public async Task Start_GoodAllowEntries_Starts()
    {
        await using var host = await LuthienTestHost.StartAsync(new()
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:9/v1",
            ["Luthien:Passthrough:Allow:0"] = "GET models/*",
            ["Luthien:Passthrough:Allow:1"] = "post /files",
        });

        Assert.That(host.Services, Is.Not.Null);
    }
}
