using Luthien.Control.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Luthien.Control.Tests.Hosting;

/// <summary>The core package's registration: no ASP.NET Core, every built-in policy, options from configuration.</summary>
public sealed class LuthienServiceCollectionExtensionsTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("luthien-di-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void AddLuthienControl_NoArguments_BindsLuthienSectionOfRegisteredConfiguration()
    {
        using var provider = Build(services => services.AddLuthienControl(), new()
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:6590/v1",
            ["Luthien:Limits:MaxRequestBodyBytes"] = "4096",
        });

        var options = provider.GetRequiredService<IOptions<LuthienOptions>>().Value;

        Assert.That(options.Backend.BaseUrl, Is.EqualTo(new Uri("http://127.0.0.1:6590/v1")));
        Assert.That(options.Limits.MaxRequestBodyBytes, Is.EqualTo(4096));
    }

    [Test]
    public void AddLuthienControl_NoArgumentsUnknownKey_FailsNamingTheKey()
    {
        using var provider = Build(services => services.AddLuthienControl(), new() { ["Luthien:Backend:BaseUlr"] = "http://x/v1" });

        Assert.That(() => provider.GetRequiredService<IOptions<LuthienOptions>>().Value,
            Throws.InvalidOperationException.With.Message.Contains("BaseUlr"));
    }

    [Test]
    public void AddLuthienControl_NoArgumentsUnknownNestedKey_FailsNamingTheSettingAndTheOnesBesideIt()
    {
        using var provider = Build(services => services.AddLuthienControl(), new() { ["Luthien:Backend:Url"] = "http://x/v1" });

        Assert.That(() => provider.GetRequiredService<IOptions<LuthienOptions>>().Value, Throws.InvalidOperationException.With.Message.EqualTo(
            "'Luthien:Backend:Url' is not a Luthien.Control setting. The settings under 'Luthien:Backend' are: ApiKey, ApiVersion, BaseUrl, Client, Style."));
    }

    [Test]
    public void AddLuthienControl_SectionUnknownTopLevelKey_FailsNamingTheSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Luthien:PolicyFiles"] = "p.json" }).Build();
        using var provider = Build(services => services.AddLuthienControl(configuration.GetSection("Luthien")), []);

        Assert.That(() => provider.GetRequiredService<IOptions<LuthienOptions>>().Value, Throws.InvalidOperationException.With.Message
            .StartsWith("'Luthien:PolicyFiles' is not a Luthien.Control setting. The settings under 'Luthien' are: Admin, Backend,")
            .And.Message.Contains("PolicyFile,"));
    }

    [Test]
    public void AddLuthienControl_SectionListAndKnownKeys_Bound()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Luthien:Passthrough:Allow:0"] = "GET models",
            ["Luthien:Headers:Credentials:0"] = "x-my-key",
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:6590/v1",
        }).Build();
        using var provider = Build(services => services.AddLuthienControl(configuration.GetSection("Luthien")), []);

        var options = provider.GetRequiredService<IOptions<LuthienOptions>>().Value;

        Assert.That(options.Passthrough.Allow, Is.EqualTo(new[] { "GET models" }));
        Assert.That(options.Headers.Credentials, Does.Contain("x-my-key"));
    }

    [Test]
    public void AddLuthienControl_NoArgumentsConfigurationReloaded_MonitorSeesNewValue()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Luthien:Limits:MaxRequestBodyBytes"] = "4096" }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLuthienControl();
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<LuthienOptions>>();
        Assert.That(monitor.CurrentValue.Limits.MaxRequestBodyBytes, Is.EqualTo(4096));

        configuration["Luthien:Limits:MaxRequestBodyBytes"] = "2048";
        configuration.Reload();

        Assert.That(monitor.CurrentValue.Limits.MaxRequestBodyBytes, Is.EqualTo(2048));
    }

    [TestCase(true, "Luthien:Limits:MaxRequestBodyByts", "1")]
    [TestCase(true, "Luthien:Limits:MaxRequestBodyBytes", "-5")]
    [TestCase(false, "Luthien:Limits:MaxRequestBodyByts", "1")]
    [TestCase(false, "Luthien:Limits:MaxRequestBodyBytes", "-5")]
    public void AddLuthienControl_BadChangeReloaded_KeepsTheOptionsInForceUntilFixed(bool parameterless, string key, string value)
    {
        var settings = new SettableConfiguration(new() { ["Luthien:Limits:MaxRequestBodyBytes"] = "4096" });
        var configuration = new ConfigurationBuilder().Add(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        _ = parameterless ? services.AddLuthienControl() : services.AddLuthienControl(configuration.GetSection("Luthien"));
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<LuthienOptions>>();
        Assert.That(monitor.CurrentValue.Limits.MaxRequestBodyBytes, Is.EqualTo(4096));

        settings.Replace(new() { ["Luthien:Limits:MaxRequestBodyBytes"] = "4096", [key] = value });
        var afterBadChange = monitor.CurrentValue.Limits.MaxRequestBodyBytes;
        settings.Replace(new() { ["Luthien:Limits:MaxRequestBodyBytes"] = "2048" });

        Assert.That(afterBadChange, Is.EqualTo(4096));
        Assert.That(monitor.CurrentValue.Limits.MaxRequestBodyBytes, Is.EqualTo(2048));
    }

    [Test]
    public void AddLuthienControl_BadAtFirstRead_Throws()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Luthien:Limits:MaxRequestBodyBytes"] = "-5" }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddLuthienControl();
        using var provider = services.BuildServiceProvider();

        Assert.That(() => provider.GetRequiredService<IOptionsMonitor<LuthienOptions>>().CurrentValue, Throws.InstanceOf<OptionsValidationException>());
    }

    [Test]
    public void AddLuthienControl_NoArgumentsNoConfiguration_KeepsDefaults()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddLuthienControl();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LuthienOptions>>().Value;

        Assert.That(options.Backend.BaseUrl, Is.Null);
        Assert.That(options.Limits.MaxRequestBodyBytes, Is.EqualTo(new LimitOptions().MaxRequestBodyBytes));
    }

    [Test]
    public void AddLuthienControl_OptionsInCodeAfterConfiguration_CodeWins()
    {
        using var provider = Build(
            services => services.AddLuthienControl().Services.Configure<LuthienOptions>(o => o.Limits.MaxRequestBodyBytes = 2048),
            new() { ["Luthien:Limits:MaxRequestBodyBytes"] = "4096" });

        Assert.That(provider.GetRequiredService<IOptions<LuthienOptions>>().Value.Limits.MaxRequestBodyBytes, Is.EqualTo(2048));
    }

    [Test]
    public void AddLuthienControl_PolicyFileWithResponsePolicies_BuildsTheRootWithoutAspNetCore()
    {
        var path = Path.Combine(_folder, "policies.json");
        File.WriteAllText(path, """
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact" } },
              { "type": "ToolCallPolicy", "config": { "allowed_tools": ["get_weather"] } },
              { "type": "TransactionContextLoggingPolicy", "config": { "log_level": "Information" } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        using var provider = Build(services => services.AddLuthienControl(o => o.PolicyFile = path), []);

        var root = (SerialPolicy)provider.GetRequiredService<RootPolicyProvider>().Root;

        Assert.That(root.Policies.Select(p => p.GetType()), Is.EqualTo(new[]
        {
            typeof(ResponseContentPolicy), typeof(ToolCallPolicy), typeof(TransactionContextLoggingPolicy), typeof(SendBackendRequestPolicy),
        }));
    }

    [Test]
    public void AddLuthienControl_Twice_RegistersOneHostPipeline()
    {
        using var provider = Build(services =>
        {
            services.AddLuthienControl();
            services.AddLuthienControl();
        }, []);

        Assert.That(provider.GetServices<HostPipeline>().Count(), Is.EqualTo(1));
    }

    private static ServiceProvider Build(Action<IServiceCollection> register, Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        register(services);
        return services.BuildServiceProvider();
    }

    /// <summary>A configuration whose whole content a test replaces, as an edited appsettings.json is reloaded.</summary>
    private sealed class SettableConfiguration(Dictionary<string, string?> initial) : ConfigurationProvider, IConfigurationSource
    {
        public override void Load() => Data = new Dictionary<string, string?>(initial, StringComparer.OrdinalIgnoreCase);

        public void Replace(Dictionary<string, string?> settings)
        {
            Data = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase);
            OnReload();
        }

        public IConfigurationProvider Build(IConfigurationBuilder builder) => this;
    }
}
