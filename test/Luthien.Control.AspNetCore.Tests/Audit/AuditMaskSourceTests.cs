using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>The mask the host builds for the audit log knows the host's own secrets, whatever their shape.</summary>
public sealed class AuditMaskSourceTests
{
    [Test]
    public void Create_BackendKeyOfNoKnownShape_Masked()
    {
        const string backendKey = "0123456789abcdef0123456789abcdef";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:5599/v1",
            ["Luthien:Backend:ApiKey"] = backendKey,
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddLuthienControl(configuration.GetSection("Luthien"));
        using var provider = services.BuildServiceProvider();

        var mask = provider.GetRequiredService<AuditMaskSource>().For(null);

        Assert.That(mask.Apply($"the backend said: bad key {backendKey}"), Is.EqualTo("the backend said: bad key [REDACTED]"));
    }
}
