using System.Text.Json.Nodes;
using Luthien.Control.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control.Tests;

/// <summary>
/// A host's own policies and a chain built in code: every mistake is refused when the root is built (at start), with a
/// message naming the policy entry and what to do.
/// </summary>
public sealed class LuthienControlBuilderTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("luthien-builder-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void AddPolicy_ConstructorTakesOptions_ConfigBindsToThem()
    {
        using var provider = Build(b => b.AddPolicy<CapPolicy>("Cap"), """{ "type": "Cap", "config": { "name": "cap", "max_tokens": 7 } }""");

        var root = (CapPolicy)Root(provider);

        Assert.That(root.Options.MaxTokens, Is.EqualTo(7));
        Assert.That(root.Name, Is.EqualTo("cap"));
    }

    [Test]
    public void AddPolicy_OptionsUnknownKey_FailsNamingKeyPolicyPlaceAndKnownFields()
    {
        using var provider = Build(b => b.AddPolicy<CapPolicy>("Cap"), """
            { "type": "SerialPolicy", "config": { "policies": [ { "type": "Cap", "config": { "max_token": 7 } } ] } }
            """);

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains(
            "Policy 'Cap' at $.config.policies[0]: field 'max_token' is not one of its fields ('max_tokens', 'name', 'type').")
            .And.Message.Contains(_folder));
    }

    [Test]
    public void AddPolicy_NoOptionsAndAKey_FailsNamingKeyPolicyAndPlace()
    {
        using var provider = Build(b => b.AddPolicy<PlainPolicy>("Plain"), """
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "Plain", "config": { "name": "p", "limit": 3 } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains(
            "Policy 'Plain' at $.config.policies[0]: field 'limit' is not one of its fields ('name', 'type')."));
    }

    [Test]
    public void AddPolicy_NoOptionsOnlyName_Builds()
    {
        using var provider = Build(b => b.AddPolicy<PlainPolicy>("Plain"), """{ "type": "Plain", "config": { "name": "p" } }""");

        Assert.That(Root(provider).Name, Is.EqualTo("p"));
    }

    [Test]
    public void AddPolicy_RawConfig_GetsEveryKey()
    {
        using var provider = Build(b => b.AddPolicy<RawPolicy>("Raw"), """{ "type": "Raw", "config": { "anything": 1 } }""");

        Assert.That(((RawPolicy)Root(provider)).Config.Config.GetProperty("anything").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void AddPolicy_ConstructorNeedsUnregisteredService_FailsNamingEntryAndServiceType()
    {
        using var provider = Build(b => b.AddPolicy<ClockPolicy>("Clock"), """
            { "type": "SerialPolicy", "config": { "policies": [ { "type": "Clock", "config": {} } ] } }
            """);

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains(
            $"Policy 'Clock' at $.config.policies[0]: ClockPolicy's constructor needs a service of type {typeof(IClock).FullName} (parameter 'clock'), and none is registered"));
    }

    [Test]
    public void AddPolicy_ConstructorRejectsItsOptions_FailsNamingEntryWithTheConstructorsMessage()
    {
        using var provider = Build(b => b.AddPolicy<CapPolicy>("Cap"), """{ "type": "Cap", "config": { "max_tokens": -1 } }""");

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains("Policy 'Cap' at $: max_tokens must be positive"));
    }

    [Test]
    public void AddPolicyWithOptions_ConstructorTakesOtherOptions_FailsNamingTheOverloadToUse()
    {
        using var provider = Build(b => b.AddPolicy<CapPolicy, PolicyOptions>("Cap"), """{ "type": "Cap", "config": {} }""");

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains(
            "Policy 'Cap' at $: CapPolicy's constructor takes its options as CapOptions (parameter 'options')")
            .And.Message.Contains("AddPolicy<CapPolicy, CapOptions>(\"Cap\")"));
    }

    [Test]
    public void AddPolicy_ConstructorsTakeTwoOptionsTypes_ThrowsNamingTheOverload()
    {
        var builder = new ServiceCollection().AddLuthienControl(_ => { });

        Assert.That(() => builder.AddPolicy<TwoOptionsPolicy>("Two"), Throws.ArgumentException.With.Message.Contains("AddPolicy<TwoOptionsPolicy, CapOptions>(\"Two\")"));
    }

    [Test]
    public void UsePolicies_ByClassAndByName_BuildsTheChainInOrder()
    {
        using var provider = Build(b => b.AddPolicy<CapPolicy>("Cap").UsePolicies(chain => chain
            .Add<ClientApiKeyAuthPolicy>(new { keys = new[] { "client-key-1" } })
            .Add("ModelNameReplacement", new { model_mapping = new Dictionary<string, string> { ["Fast"] = "gpt-4o-mini" } })
            .Add<CapPolicy>(new CapOptions { MaxTokens = 512 })
            .Add<TransactionContextLoggingPolicy>(new { log_level = "Debug" })
            .Add<SendBackendRequestPolicy>()));

        var root = (SerialPolicy)Root(provider);

        Assert.That(root.Policies.Select(p => p.GetType()), Is.EqualTo(new[]
        {
            typeof(ClientApiKeyAuthPolicy), typeof(ModelNameReplacementPolicy), typeof(CapPolicy), typeof(TransactionContextLoggingPolicy), typeof(SendBackendRequestPolicy),
        }));
        Assert.That(((CapPolicy)root.Policies[2]).Options.MaxTokens, Is.EqualTo(512));
        Assert.That(((TransactionContextLoggingPolicy)root.Policies[3]).Level, Is.EqualTo(LogLevel.Debug));
        Assert.That(root.Policies[1].Name, Is.EqualTo("ModelNameReplacement"));
    }

    [Test]
    public void UsePolicies_ModelMappingKeys_KeptAsWritten()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain
            .Add("ModelNameReplacement", new { model_mapping = new Dictionary<string, string> { ["FastModel"] = "gpt-4o-mini" } })
            .Add("SendBackendRequest")));
        var transaction = TestTransactions.Chat("""{"model":"FastModel","messages":[{"role":"user","content":"hi"}]}""");

        var replacement = ((SerialPolicy)Root(provider)).Policies[0];
        replacement.ApplyAsync(transaction, (_, _) => ValueTask.CompletedTask, CancellationToken.None).AsTask().GetAwaiter().GetResult();

        Assert.That(transaction.Request.Model, Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public void UsePolicies_ClassNotRegistered_BuiltAsAddPolicyWould()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain.Add<CapPolicy>(new CapOptions { MaxTokens = 3 }).Add<SendBackendRequestPolicy>()));

        var cap = (CapPolicy)((SerialPolicy)Root(provider)).Policies[0];

        Assert.That(cap.Options.MaxTokens, Is.EqualTo(3));
        Assert.That(cap.Name, Is.EqualTo("CapPolicy"));
    }

    [Test]
    public void UsePolicies_JsonObjectAndJsonTextConfigs_Bind()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain
            .Add<ClientApiKeyAuthPolicy>(new JsonObject { ["keys"] = new JsonArray("k1") })
            .Add("LeakedApiKeyDetection", """{ "patterns": ["secret-[0-9]+"] }""")
            .Add<SendBackendRequestPolicy>()));

        Assert.That(((SerialPolicy)Root(provider)).Policies, Has.Count.EqualTo(3));
    }

    [Test]
    public void UsePolicies_UnknownKey_FailsNamingCodeAndEntry()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain
            .Add<SendBackendRequestPolicy>()
            .Add("ModelNameReplacement", new { model_map = new Dictionary<string, string> { ["a"] = "b" } })));

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.StartsWith(
            "The policy built in code: Policy 'ModelNameReplacement' at $.policies[1]: field 'model_map' is not one of its fields ('model_mapping', 'name', 'type')."));
    }

    [Test]
    public void UsePolicies_UnknownTypeName_FailsListingTheRegisteredOnes()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain.Add("SendBackendRequests")));

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.Contains("Unknown policy type 'SendBackendRequests' at $.policies[0]")
            .And.Message.Contains("SendBackendRequest,"));
    }

    [Test]
    public void UsePolicies_NoSendBackendRequest_FailsNamingCode()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain.Add<ClientApiKeyAuthPolicy>(new { keys = new[] { "k" } }).Add<TransactionContextLoggingPolicy>()));

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.StartsWith(
            "The policy built in code: the policy chain $ (root) never produces a response"));
    }

    [Test]
    public void UsePolicy_RootWithoutSendBackendRequest_FailsNamingCode()
    {
        using var provider = Build(b => b.UsePolicy(_ => new NoopPolicy()));

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.StartsWith(
            "The policy built in code: the policy chain $ (NoopPolicy) never produces a response"));
    }

    [Test]
    public void UsePolicies_OwnFactory_TakenAsAbleToAnswer()
    {
        using var provider = Build(b => b.UsePolicies(chain => chain.Add(_ => new PlainPolicy())));

        Assert.That(((SerialPolicy)Root(provider)).Policies.Single(), Is.TypeOf<PlainPolicy>());
    }

    [Test]
    public void Root_DefaultChainNoBaseUrlInProcess_Builds()
    {
        using var provider = Build(_ => { });

        Assert.That(Root(provider), Is.TypeOf<SerialPolicy>());
    }

    [Test]
    public void Root_DefaultChainNoBaseUrlEndpointsMapped_FailsNamingBaseUrl()
    {
        using var provider = Build(_ => { });
        provider.GetRequiredService<LuthienEndpointsMarker>().Mapped = true;

        Assert.That(() => Root(provider), Throws.TypeOf<PolicyLoadException>().With.Message.StartsWith(
            "The default chain (no Luthien:PolicyFile): Luthien:Backend:BaseUrl is not set"));
    }

    [Test]
    public void EndpointsMapped_AfterRootBuiltWithoutBaseUrl_Fails()
    {
        using var provider = Build(_ => { });
        var root = provider.GetRequiredService<RootPolicyProvider>();
        _ = root.Root;

        Assert.That(root.EndpointsMapped, Throws.TypeOf<PolicyLoadException>().With.Message.Contains("Luthien:Backend:BaseUrl is not set"));
    }

    [Test]
    public void Root_EndpointsMappedWithBaseUrl_Builds()
    {
        using var provider = Build(_ => { }, baseUrl: "http://127.0.0.1:9/v1");
        provider.GetRequiredService<LuthienEndpointsMarker>().Mapped = true;

        Assert.That(Root(provider), Is.TypeOf<SerialPolicy>());
    }

    private static ControlPolicy Root(ServiceProvider provider) => provider.GetRequiredService<RootPolicyProvider>().Root;

    private ServiceProvider Build(Action<LuthienControlBuilder> configure, string? policyFile = null, string? baseUrl = null)
    {
        string? path = null;
        if (policyFile is not null)
        {
            path = Path.Combine(_folder, "policies.json");
            File.WriteAllText(path, policyFile);
        }

        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        configure(services.AddLuthienControl(o =>
        {
            o.PolicyFile = path;
            o.Backend.BaseUrl = baseUrl is null ? null : new Uri(baseUrl);
        }));
        return services.BuildServiceProvider();
    }

    public sealed class CapOptions : PolicyOptions
    {
        public int MaxTokens { get; set; }
    }

    public interface IClock;

    private sealed class CapPolicy : ControlPolicy
    {
        public CapPolicy(CapOptions options)
        {
            if (options.MaxTokens < 0)
            {
                throw new ArgumentException("max_tokens must be positive.", nameof(options));
            }

            Options = options;
        }

        public CapOptions Options { get; }

        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
    }

    private sealed class PlainPolicy : ControlPolicy
    {
        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
    }

    private sealed class RawPolicy(PolicyConfig config) : ControlPolicy
    {
        public PolicyConfig Config { get; } = config;

        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
    }

    private sealed class ClockPolicy(IClock clock) : ControlPolicy
    {
        public IClock Clock { get; } = clock;

        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
    }

    private sealed class TwoOptionsPolicy : ControlPolicy
    {
        public TwoOptionsPolicy(CapOptions options) => Name = options.Name ?? Name;

        public TwoOptionsPolicy(PolicyOptions options) => Name = options.Name ?? Name;

        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) => next(transaction, cancellationToken);
    }
}
