using NSubstitute;

namespace Luthien.Control.Tests.Loading;

public class PolicyLoaderTests
{
    private static PolicyLoader CreateLoader()
    {
        var services = Substitute.For<IServiceProvider>();
        services.GetService(typeof(IBackendClient)).Returns(Substitute.For<IBackendClient>());
        return new PolicyLoader(new PolicyRegistry().AddBuiltInPolicies(), services);
    }

    [Test]
    public void LoadJson_RequestSideChain_BuildsChain()
    {
        var policy = CreateLoader().LoadJson("""
            { "type": "SerialPolicy", "config": { "name": "root", "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
              { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
              { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } },
              { "type": "NoopPolicy", "config": {} },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);

        var serial = (SerialPolicy)policy;
        Assert.That(serial.Name, Is.EqualTo("root"));
        Assert.That(serial.Policies.Select(p => p.GetType()), Is.EqualTo(new[]
        {
            typeof(ClientApiKeyAuthPolicy), typeof(LeakedApiKeyDetectionPolicy), typeof(ModelNameReplacementPolicy),
            typeof(NoopPolicy), typeof(SendBackendRequestPolicy),
        }));
    }

    [Test]
    public void LoadJson_LuthienE2EPolicyFile_LoadsUnchanged()
    {
        // luthien_control's tests/e2e/e2e_policy.json: names inside config, no keys for ClientApiKeyAuth.
        var policy = CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "config": {"name": "E2E Test Policy", "policies": [
              {"type": "ClientApiKeyAuth", "config": {"name": "E2E_ClientAPIKeyCheck"}},
              {"type": "LeakedApiKeyDetection", "config": {"name": "E2E_LeakedKeyCheck"}},
              {"type": "AddApiKeyHeaderFromEnv", "config": {"name": "E2E_AddBackendKey", "api_key_env_var_name": "OPENAI_API_KEY"}},
              {"type": "SetBackendPolicy", "config": {"name": "E2E_SetBackend", "backend_url": "https://api.openai.com/v1/"}},
              {"type": "SendBackendRequest", "config": {"name": "E2E_ForwardRequest"}}]}}
            """);

        var serial = (SerialPolicy)policy;
        Assert.That(serial.Policies.Select(p => p.Name), Is.EqualTo(new[]
        {
            "E2E_ClientAPIKeyCheck", "E2E_LeakedKeyCheck", "E2E_AddBackendKey", "E2E_SetBackend", "E2E_ForwardRequest",
        }));
    }

    [Test]
    public void LoadJson_LegacyFlatForm_Loads()
    {
        // luthien_control's scripts/test_streaming_policy.json form: no "config", fields beside "type".
        var policy = CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "name": "StreamingTestPolicy", "policies": [
              {"type": "ModelNameReplacement", "name": "StreamingDebugLogger", "model_mapping": {"a": "b"}},
              {"type": "SendBackendRequest", "name": "BackendRequest"}]}
            """);

        Assert.That(((SerialPolicy)policy).Policies.Select(p => p.Name), Is.EqualTo(new[] { "StreamingDebugLogger", "BackendRequest" }));
    }

    [Test]
    public async Task LoadJson_BranchingPolicy_RoutesByCondition()
    {
        var policy = CreateLoader().LoadJson("""
            {"type": "BranchingPolicy", "config": {
              "cond_to_policy_map": {
                "{\"type\": \"equals\", \"left\": {\"type\": \"transaction_path\", \"path\": \"request.payload.model\"}, \"right\": {\"type\": \"static\", \"value\": \"gpt-4o\"}, \"comparator\": \"equals\"}":
                  {"type": "ModelNameReplacement", "config": {"model_mapping": {"gpt-4o": "routed"}}}
              },
              "default_policy": {"type": "NoopPolicy", "config": {}}}}
            """);
        var transaction = TestTransactions.ChatWithText("hi");

        await policy.RunAsync(transaction);

        Assert.That(policy, Is.InstanceOf<BranchingPolicy>());
        Assert.That(((BranchingPolicy)policy).Branches[0].Key, Is.InstanceOf<ComparisonCondition>());
        Assert.That(transaction.Request.Model, Is.EqualTo("routed"));
    }

    [Test]
    public void LoadJson_UnknownType_NamesTypeAndPath()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "config": {"policies": [{"type": "NoSuchPolicy", "config": {}}]}}
            """));

        Assert.That(ex!.Message, Does.Contain("NoSuchPolicy").And.Contain("$.config.policies[0]"));
    }

    [Test]
    public void LoadJson_UnknownField_NamesPolicyAndField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "config": {"policies": [{"type": "ClientApiKeyAuth", "config": {"kyes": ["a"]}}]}}
            """));

        Assert.That(ex!.Message, Does.Contain("ClientApiKeyAuth").And.Contain("kyes"));
    }

    [Test]
    public void LoadJson_WrongFieldType_NamesPolicyAndField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "ModelNameReplacement", "config": {"model_mapping": ["fast"]}}
            """));

        Assert.That(ex!.Message, Does.Contain("ModelNameReplacement").And.Contain("model_mapping"));
    }

    [Test]
    public void LoadJson_MissingRequiredField_NamesIt()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""{"type": "AddApiKeyHeaderFromEnv", "config": {}}"""));

        Assert.That(ex!.Message, Does.Contain("AddApiKeyHeaderFromEnv").And.Contain("api_key_env_var_name"));
    }

    [Test]
    public void LoadJson_BadRegex_NamesPolicyAndField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""{"type": "LeakedApiKeyDetection", "config": {"patterns": ["("]}}"""));

        Assert.That(ex!.Message, Does.Contain("LeakedApiKeyDetection").And.Contain("patterns[0]"));
    }

    [Test]
    public void LoadJson_BadCondition_NamesBranchingField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "BranchingPolicy", "config": {"cond_to_policy_map": {"{\"type\": \"maybe\"}": {"type": "NoopPolicy", "config": {}}}}}
            """));

        Assert.That(ex!.Message, Does.Contain("BranchingPolicy").And.Contain("cond_to_policy_map").And.Contain("maybe"));
    }

    [Test]
    public void LoadJson_SerialWithoutPolicies_Fails()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""{"type": "SerialPolicy", "config": {}}"""));

        Assert.That(ex!.Message, Does.Contain("policies"));
    }

    [Test]
    public void LoadFile_Missing_NamesFile()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadFile("/nonexistent/policy.json"));

        Assert.That(ex!.Message, Does.Contain("/nonexistent/policy.json"));
    }

    [Test]
    public void LoadJson_NotJson_SaysWhere()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("{\"type\": "));

        Assert.That(ex!.Message, Does.Contain("not valid JSON"));
    }
}
