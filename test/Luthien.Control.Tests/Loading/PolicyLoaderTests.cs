using Luthien.Control.Streaming;
using Microsoft.Extensions.Options;
using NSubstitute;

namespace Luthien.Control.Tests.Loading;

public class PolicyLoaderTests
{
    private static PolicyLoader CreateLoader(bool store = false)
    {
        var services = Substitute.For<IServiceProvider>();
        services.GetService(typeof(IBackendClient)).Returns(Substitute.For<IBackendClient>());
        if (store)
        {
            var options = Options.Create(new LuthienOptions { TransactionLog = new TransactionLogOptions { Provider = TransactionLogProvider.Sqlite, ConnectionString = "x" } });
            var stores = new ControlStores(options, [new ControlStoreRegistration(TransactionLogProvider.Sqlite, "t", _ => Substitute.For<IControlStore>())]);
            services.GetService(typeof(ClientKeyCache)).Returns(new ClientKeyCache(stores, options, TimeProvider.System));
        }

        return new PolicyLoader(new PolicyRegistry().AddBuiltInPolicies().AddStreamingPolicies(), services);
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
        // luthien_control's tests/e2e/e2e_policy.json: names inside config, no keys for ClientApiKeyAuth (the database's).
        var policy = CreateLoader(store: true).LoadJson("""
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
    public void LoadJson_TypeInAnotherCasing_SuggestsTheRegisteredName()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""{"type": "sendBackendRequest", "config": {}}"""));

        Assert.That(ex!.Message, Does.Contain("Unknown policy type 'sendBackendRequest' at $.").And.Contain("Did you mean 'SendBackendRequest'?"));
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

    [TestCase("""{"type": "ModelNameReplacement", "config": {"model_mapping": ["fast"]}}""", "field 'model_mapping': expects an object.")]
    [TestCase("""{"type": "ToolCallPolicy", "config": {"allowed_tools": "get_weather"}}""", "field 'allowed_tools': expects a list.")]
    [TestCase("""{"type": "ResponseContentPolicy", "config": {"patterns": ["x"], "replacement": 5}}""", "field 'replacement': expects a string.")]
    public void LoadJson_WrongFieldKind_SaysWhatTheFieldExpectsNotADotNetType(string json, string expected)
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson(json));

        Assert.That(ex!.Message, Does.Contain(expected).And.Not.Contain("System."));
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

    [Test]
    public void LoadJson_ClientApiKeyAuthWithoutKeysNoStore_FailsNamingWhatToConfigure()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "config": {"policies": [{"type": "NoopPolicy", "config": {}}, {"type": "ClientApiKeyAuth", "config": {"name": "auth"}}]}}
            """));

        Assert.That(ex!.Message, Does.Contain("ClientApiKeyAuth").And.Contain("$.config.policies[1]").And.Contain("\"keys\"")
            .And.Contain("Luthien:TransactionLog:Provider").And.Contain("Luthien:TransactionLog:ConnectionString"));
    }

    [Test]
    public void LoadJson_ClientApiKeyAuthWithoutKeysWithStore_ReadsTheStore()
    {
        var policy = CreateLoader(store: true).LoadJson("""{"type": "ClientApiKeyAuth", "config": {}}""");

        // The store's substitute knows no key: a key that would pass a config policy with keys is refused.
        Assert.ThrowsAsync<ControlPolicyException>(async () =>
            await policy.RunAsync(TestTransactions.ChatWithText("hi", ("Authorization", "Bearer anything"))));
        Assert.That(policy, Is.InstanceOf<ClientApiKeyAuthPolicy>());
    }

    [TestCase(false)]
    [TestCase(true)]
    public void LoadJson_ClientApiKeyAuthExplicitEmptyKeys_LoadsAndRefusesEveryKey(bool store)
    {
        var policy = CreateLoader(store).LoadJson("""{"type": "ClientApiKeyAuth", "config": {"keys": []}}""");

        var ex = Assert.ThrowsAsync<ControlPolicyException>(async () =>
            await policy.RunAsync(TestTransactions.ChatWithText("hi", ("Authorization", "Bearer anything"))));
        Assert.That(ex!.StatusCode, Is.EqualTo(401));
    }

    [Test]
    public void LoadJson_ClientApiKeyAuthSourceConfigWithoutKeys_FailsNamingKeys()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader(store: true).LoadJson("""{"type": "ClientApiKeyAuth", "config": {"source": "config"}}"""));

        Assert.That(ex!.Message, Does.Contain("'keys' is required"));
    }

    [Test]
    public async Task LoadJson_BranchingOnLuthienControlPaths_DecidesAsThere()
    {
        // Conditions as luthien_control's dev branch writes them: openai_request for chat completions, raw_request for the rest.
        var policy = CreateLoader().LoadJson("""
            {"type": "BranchingPolicy", "config": {
              "cond_to_policy_map": {
                "{\"type\": \"equals\", \"left\": {\"type\": \"transaction_path\", \"path\": \"openai_request.payload.model\"}, \"right\": {\"type\": \"static\", \"value\": \"gpt-4o\"}, \"comparator\": \"equals\"}":
                  {"type": "ModelNameReplacement", "config": {"model_mapping": {"gpt-4o": "chat-branch"}}},
                "{\"type\": \"regex_match\", \"left\": {\"type\": \"transaction_path\", \"path\": \"raw_request.path\"}, \"right\": {\"type\": \"static\", \"value\": \"^responses$\"}, \"comparator\": \"regex_match\"}":
                  {"type": "ModelNameReplacement", "config": {"model_mapping": {"gpt-4o": "raw-branch"}}}
              },
              "default_policy": {"type": "ModelNameReplacement", "config": {"model_mapping": {"gpt-4o": "default"}}}}}
            """);
        var chat = TestTransactions.ChatWithText("hi");
        var responses = TestTransactions.Responses();
        var otherChat = TestTransactions.Chat("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""");

        await policy.RunAsync(chat);
        await policy.RunAsync(responses);
        await policy.RunAsync(otherChat);

        Assert.That(chat.Request.Model, Is.EqualTo("chat-branch"));
        Assert.That(responses.Request.Model, Is.EqualTo("raw-branch"));
        Assert.That(otherChat.Request.Model, Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public void LoadJson_ConditionReadingTheClientKey_FailsAtStart()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "BranchingPolicy", "config": {"cond_to_policy_map": {
              "{\"type\": \"equals\", \"left\": {\"type\": \"transaction_path\", \"path\": \"openai_request.api_key\"}, \"right\": \"k\"}": {"type": "NoopPolicy", "config": {}}}}}
            """));

        Assert.That(ex!.Message, Does.Contain("openai_request.api_key").And.Contain("credentials"));
    }

    [Test]
    public void LoadJson_BackendCallPolicyAsLuthienControlSerializesIt_Loads()
    {
        var policy = CreateLoader().LoadJson("""
            {"type": "BackendCallPolicy", "config": {"name": "test_policy", "type": "BackendCallPolicy", "backend_call_spec": {
              "model": "gpt-4o", "api_endpoint": "http://127.0.0.1:6401/v1", "api_key_env_var": "LUTHIEN_TEST_KEY",
              "request_args": {"temperature": 0.7, "response_format": {"type": "json_object"}}}}}
            """);

        var call = (BackendCallPolicy)policy;
        Assert.That((call.Name, call.Model, call.ApiEndpoint, call.ApiKeyEnvVar), Is.EqualTo(("test_policy", "gpt-4o", new Uri("http://127.0.0.1:6401/v1"), "LUTHIEN_TEST_KEY")));
        Assert.That(call.RequestArgs.Select(a => a.Key), Is.EqualTo(new[] { "temperature", "response_format" }));
    }

    [Test]
    public void LoadJson_BackendCallPolicyEmptySpec_TakesLuthienControlDefaults()
    {
        var call = (BackendCallPolicy)CreateLoader().LoadJson("""{"type": "BackendCallPolicy", "config": {"backend_call_spec": {}}}""");

        Assert.That((call.Model, call.ApiEndpoint, call.ApiKeyEnvVar), Is.EqualTo(("gpt-4o-mini", (Uri?)null, "OPENAI_API_KEY")));
        Assert.That(call.RequestArgs, Is.Empty);
    }

    [TestCase("""{"name": "x"}""", "'backend_call_spec' is required")]
    [TestCase("""{"backend_call_spec": {"modle": "gpt-4o"}}""", "modle")]
    [TestCase("""{"backend_call_spec": {"model": "gpt-4o"}, "timeout": 3}""", "timeout")]
    [TestCase("""{"backend_call_spec": {"api_endpoint": "ftp://host/v1"}}""", "backend_call_spec.api_endpoint")]
    [TestCase("""{"backend_call_spec": {"api_endpoint": "api.openai.com/v1"}}""", "backend_call_spec.api_endpoint")]
    [TestCase("""{"backend_call_spec": {"api_key_env_var": " "}}""", "backend_call_spec.api_key_env_var")]
    [TestCase("""{"backend_call_spec": {"request_args": {"stream": true}}}""", "'stream'")]
    [TestCase("""{"backend_call_spec": {"request_args": {"stream_options": {"include_usage": true}}}}""", "'stream_options'")]
    [TestCase("""{"backend_call_spec": {"request_args": ["temperature"]}}""", "request_args")]
    public void LoadJson_BackendCallPolicyBadConfig_FailsNamingTheField(string config, string expected)
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson($$"""{"type": "BackendCallPolicy", "config": {{config}}}"""));

        Assert.That(ex!.Message, Does.Contain("BackendCallPolicy").And.Contain(expected));
    }

    [Test]
    public void LoadJson_IncrementIntegers_Loads()
    {
        var policy = CreateLoader().LoadJson("""{"type": "IncrementIntegers", "config": {"name": "E2E_IncrementIntegers"}}""");

        Assert.That(policy.Name, Is.EqualTo("E2E_IncrementIntegers"));
    }

    [Test]
    public void LoadJson_LuthienControlPolicyNotImplemented_SaysSoAndWhy()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            {"type": "SerialPolicy", "config": {"policies": [{"type": "TxLoggingPolicy", "config": {"spec": {}}}]}}
            """));

        Assert.That(ex!.Message, Does.Contain("TxLoggingPolicy").And.Contain("$.config.policies[0]")
            .And.Contain("luthien_control policy").And.Contain("Luthien:TransactionLog:Provider"));
    }
}
