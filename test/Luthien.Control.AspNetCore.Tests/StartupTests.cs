using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
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

    [TestCase("https://res.openai.azure.com/openai/deployments/gpt-4o", "Azure", "deployment")]
    [TestCase("https://res.openai.azure.com/openai/deployments/gpt-4o", "Auto", "deployment")]
    [TestCase("https://res.openai.azure.com/openai/v1", "Azure", "/v1")]
    [TestCase("http://127.0.0.1:1234/v1", "Azure", "/v1")]
    public void Start_AzureBaseUrlNotAnEndpoint_FailsSayingWhy(string baseUrl, string style, string reason)
    {
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => StartAppAsync(new()
        {
            ["Luthien:Backend:BaseUrl"] = baseUrl,
            ["Luthien:Backend:Style"] = style,
        }));

        Assert.That(ex!.Message, Does.Contain("Luthien:Backend:BaseUrl").And.Contain("Azure").And.Contain(reason));
    }

    [Test]
    public void Start_ApiVersionNotAVersion_FailsValidation()
    {
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => StartAppAsync(new() { ["Luthien:Backend:ApiVersion"] = "2024-10-21&x=1" }));

        Assert.That(ex!.Message, Does.Contain("Luthien:Backend:ApiVersion"));
    }

    [Test]
    public void Start_UnknownStyle_Fails()
    {
        var ex = Assert.CatchAsync<InvalidOperationException>(() => StartAppAsync(new() { ["Luthien:Backend:Style"] = "Bedrock" }));

        Assert.That(ex!.Message, Does.Contain("Style"));
    }

    [TestCase("https://res.openai.azure.com/openai", "Auto")]
    [TestCase("https://res.openai.azure.com/openai/v1", "Auto")]
    [TestCase("http://127.0.0.1:1234/", "Azure")]
    [TestCase("http://127.0.0.1:1234/v1", "OpenAI")]
    public void Start_GoodBackendStyle_Starts(string baseUrl, string style)
    {
        Assert.DoesNotThrowAsync(() => StartAppAsync(new()
        {
            ["Luthien:Backend:BaseUrl"] = baseUrl,
            ["Luthien:Backend:Style"] = style,
            ["Luthien:Backend:ApiVersion"] = "2025-04-01-preview",
        }));
    }

    [TestCase("https://api.openai.com/v1", true)]
    [TestCase("http://127.0.0.1:6590/v1", false)]
    public async Task Start_RemoteBackendWithoutKey_WarnsNamingWhatToSet(string baseUrl, bool warned)
    {
        Assume.That(Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Is.Null.Or.Empty, "the key would default to OPENAI_API_KEY");
        var logs = new ListLoggerProvider();

        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = baseUrl },
            services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));

        var warnings = logs.Messages.Where(m => m.Contains("Luthien:Backend:ApiKey is not set and OPENAI_API_KEY is empty")).ToList();
        Assert.That(warnings, Has.Count.EqualTo(warned ? 1 : 0));
        Assert.That(warnings, Has.All.Contain("Warning").And.All.Contain("requests go to the backend at api.openai.com without a key").And.All.Contain("AddApiKeyHeader"));
    }

    [TestCase("http://127.0.0.1:6590", true)]
    [TestCase("http://127.0.0.1:6590/", true)]
    [TestCase("http://127.0.0.1:6590/v1", false)]
    [TestCase("https://res.openai.azure.com", false)]
    public async Task Start_BaseUrlWithoutVersionSegment_WarnsNamingTheSetting(string baseUrl, bool warned)
    {
        var logs = new ListLoggerProvider();

        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = baseUrl, ["Luthien:Backend:ApiKey"] = "sk-test" },
            services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));

        var warnings = logs.Messages.Where(m => m.Contains("has no path", StringComparison.Ordinal)).ToList();
        Assert.That(warnings, Has.Count.EqualTo(warned ? 1 : 0));
        Assert.That(warnings, Has.All.Contain("Luthien:Backend:BaseUrl").And.All.Contain("/v1").And.All.Not.Contain("sk-test"));
    }

    [Test]
    public async Task Start_RemoteBackendWithoutKeyButAddApiKeyHeaderFromEnvInTheChain_NoWarning()
    {
        Assume.That(Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Is.Null.Or.Empty, "the key would default to OPENAI_API_KEY");
        var logs = new ListLoggerProvider();
        var file = Path.Combine(Path.GetTempPath(), $"luthien-keyed-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "AddApiKeyHeaderFromEnv", "config": { "api_key_env_var_name": "MY_BACKEND_KEY" } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);
        try
        {
            await using var host = await LuthienTestHost.StartAsync(
                new() { ["Luthien:Backend:BaseUrl"] = "https://api.openai.com/v1", ["Luthien:PolicyFile"] = file },
                services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));

            Assert.That(logs.Messages, Has.None.Contain("Luthien:Backend:ApiKey is not set"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Start_SdkClientAzureBackendWithoutKey_WarnsOnceNamingWhatToSet()
    {
        Assume.That(Environment.GetEnvironmentVariable("OPENAI_API_KEY"), Is.Null.Or.Empty, "the key would default to OPENAI_API_KEY");
        var logs = new ListLoggerProvider();

        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = "https://res.openai.azure.com/openai", ["Luthien:Backend:Client"] = "Sdk" },
            services: s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));

        Assert.That(logs.Messages, Has.Exactly(1).Contain("Luthien:Backend:Client is Sdk"));
        Assert.That(logs.Messages, Has.Exactly(1).Contain("Warning").And.Contain("has no key").And.Contain("Luthien:Backend:ApiKey"));
    }

    [Test]
    public void Start_EndpointsWithoutBaseUrl_FailsNamingTheSettingAndTheAlternatives()
    {
        var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync([]));

        Assert.That(ex!.Message, Does.StartWith("The default chain (no Luthien:PolicyFile): Luthien:Backend:BaseUrl is not set")
            .And.Contain("MapLuthienControl").And.Contain("UseChatClientBackend").And.Contain("SetBackendPolicy"));
    }

    [Test]
    public void Start_PolicyFileWithoutBaseUrl_FailsNamingTheFileAndTheEntry()
    {
        var file = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync(new() { ["Luthien:PolicyFile"] = file }));

        Assert.That(ex!.Message, Does.StartWith($"Policy file '{file}': Luthien:Backend:BaseUrl is not set").And.Contain("SendBackendRequest at $.config.policies[1]"));
    }

    [Test]
    public async Task Start_NoBaseUrlSetBackendPolicyBeforeSending_Starts()
    {
        var file = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "SetBackendPolicy", "config": { "backend_url": "http://127.0.0.1:9/v1" } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        await using var host = await LuthienTestHost.StartAsync(new() { ["Luthien:PolicyFile"] = file });

        Assert.That(host.Services.GetRequiredService<RootPolicyProvider>().Root, Is.TypeOf<SerialPolicy>());
    }

    [Test]
    public async Task Start_NoBaseUrlChatClientBackend_Starts()
    {
        await using var host = await LuthienTestHost.StartAsync([], luthien => luthien.UseChatClientBackend(NSubstitute.Substitute.For<Microsoft.Extensions.AI.IChatClient>()));

        Assert.That(host.Services.GetRequiredService<RootPolicyProvider>().Root, Is.TypeOf<SerialPolicy>());
    }

    [Test]
    public void Start_PolicyFileThatNeverAnswers_FailsNamingTheFileAndThePath()
    {
        var file = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["client-key-1"] } },
              { "type": "BranchingPolicy", "config": { "name": "by-model", "cond_to_policy_map": {
                "{\"type\":\"equals\",\"left\":{\"type\":\"transaction_path\",\"path\":\"request.payload.model\"},\"right\":{\"type\":\"static\",\"value\":\"m\"}}":
                  { "type": "SendBackendRequest", "config": {} } } } } ] } }
            """);

        var ex = Assert.ThrowsAsync<PolicyLoadException>(() => StartAppAsync(new() { ["Luthien:PolicyFile"] = file, ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:9/v1" }));

        Assert.That(ex!.Message, Does.StartWith($"Policy file '{file}': a request for which no condition of $.config.policies[1] (by-model) holds (it has no default_policy) reaches the end of the policy chain without a response"));
    }

    [Test]
    public async Task Start_ChainBuiltInCode_ServesThroughTheBackend()
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = c => FakeBackend.Json(c, 200, """{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""");
        await using var host = await LuthienTestHost.StartAsync(new() { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString() }, luthien => luthien.UsePolicies(chain => chain
            .Add<ClientApiKeyAuthPolicy>(new { keys = new[] { "client-key-1" } })
            .Add("ModelNameReplacement", new { model_mapping = new Dictionary<string, string> { ["fast"] = "gpt-4o-mini" } })
            .Add<SendBackendRequestPolicy>()));
        using var http = host.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Authorization", "Bearer client-key-1");

        using var response = await http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
        Assert.That(backend.Requests.Single().Body, Does.Contain("\"model\":\"gpt-4o-mini\""));
    }
}
