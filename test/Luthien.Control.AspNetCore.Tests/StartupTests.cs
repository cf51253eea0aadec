using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Bad configuration stops the app at start, with a message that says what to fix.</summary>
public class StartupTests
{
    private static async Task StartAppAsync(Dictionary<string, string?> settings)
    {
        await using var host = await LuthienTestHost.StartAsync(settings);
    }

    [Test]
    public void Start_PolicyFileWithBadField_FailsNamingPolicyAndField()
    {
        var file = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ModelNameReplacement", "config": { "model_map": { "a": "b" } } } ] } }
            """);
        try
        {
            var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync(new() { ["Luthien:PolicyFile"] = file }));

            Assert.That(ex!.Message, Does.Contain("ModelNameReplacement").And.Contain("model_map").And.Contain(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Start_PolicyFileWithUnknownType_FailsNamingType()
    {
        var file = PolicyFiles.Write("""{ "type": "MadeUpPolicy", "config": {} }""");
        try
        {
            var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync(new() { ["Luthien:PolicyFile"] = file }));

            Assert.That(ex!.Message, Does.Contain("MadeUpPolicy"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void Start_MissingPolicyFile_Fails()
    {
        var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync(new() { ["Luthien:PolicyFile"] = "/no/such/policy.json" }));

        Assert.That(ex!.Message, Does.Contain("/no/such/policy.json"));
    }

    [Test]
    public void Start_NegativeLimit_FailsValidation()
    {
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => StartAppAsync(new() { ["Luthien:Limits:MaxRequestBodyBytes"] = "-1" }));

        Assert.That(ex!.Message, Does.Contain("MaxRequestBodyBytes"));
    }

    [Test]
    public void Start_UnknownSetting_Fails()
    {
        var ex = Assert.CatchAsync<InvalidOperationException>(() => StartAppAsync(new() { ["Luthien:Backend:BaseUlr"] = "http://x/v1" }));

        Assert.That(ex!.Message, Does.Contain("BaseUlr"));
    }

    [Test]
    public void Start_BaseUrlNotHttp_FailsValidation()
    {
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => StartAppAsync(new() { ["Luthien:Backend:BaseUrl"] = "ftp://example.test/v1" }));

        Assert.That(ex!.Message, Does.Contain("BaseUrl"));
    }
}
