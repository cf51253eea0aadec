using NSubstitute;

namespace Luthien.Control.Tests.Hosting;

/// <summary>A root policy that would fail every request (or every request of a kind) is refused before it takes traffic.</summary>
public sealed class RootPolicyChecksTests
{
    private const string Source = "Policy file 'p.json'";

    private static ControlPolicy Load(string json)
    {
        var services = Substitute.For<IServiceProvider>();
        services.GetService(typeof(IBackendClient)).Returns(Substitute.For<IBackendClient>());
        return new PolicyLoader(new PolicyRegistry().AddBuiltInPolicies(), services).LoadJson(json);
    }

    private const string IsMini = """{\"type\":\"equals\",\"left\":{\"type\":\"transaction_path\",\"path\":\"request.payload.model\"},\"right\":{\"type\":\"static\",\"value\":\"mini\"}}""";

    [Test]
    public void Find_ChainWithSendBackendRequest_NoProblem()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["k"] } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: false), Is.Empty);
    }

    [Test]
    public void Find_ChainWithoutSendBackendRequest_NamesFileAndChainAndWhatToAdd()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "name": "root", "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["k"] } },
              { "type": "ModelNameReplacement", "config": { "model_mapping": { "a": "b" } } } ] } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: false);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith("Policy file 'p.json': the policy chain $ (root) never produces a response")
            .And.Contain("500 server_error").And.Contain("Put SendBackendRequest at its end"));
    }

    [Test]
    public void Find_BranchWithoutDefaultAndNothingAfter_NamesTheBranchingPolicyAndTheMissingDefault()
    {
        var root = Load($$"""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "BranchingPolicy", "config": { "name": "route", "cond_to_policy_map": {
                "{{IsMini}}": { "type": "SendBackendRequest", "config": {} } } } } ] } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: false);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("for which no condition of $.config.policies[0] (route) holds (it has no default_policy)")
            .And.Contain("reaches the end of the policy chain without a response"));
    }

    [Test]
    public void Find_BranchWithoutDefaultFollowedBySend_NoProblem()
    {
        var root = Load($$"""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "BranchingPolicy", "config": { "cond_to_policy_map": {
                "{{IsMini}}": { "type": "ModelNameReplacement", "config": { "model_mapping": { "mini": "gpt-4o-mini" } } } } } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: false), Is.Empty);
    }

    [Test]
    public void Find_BranchThatDoesNotSend_NamesTheBranchTaken()
    {
        var root = Load($$"""
            { "type": "BranchingPolicy", "config": {
              "cond_to_policy_map": { "{{IsMini}}": { "type": "NoopPolicy", "config": {} } },
              "default_policy": { "type": "SendBackendRequest", "config": {} } } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: false);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("for which $ (BranchingPolicy) takes the branch $.config.cond_to_policy_map[").And.Contain("(NoopPolicy)"));
    }

    [Test]
    public void Find_HostPolicyOnThePath_TakenAsAbleToAnswer()
    {
        var root = new SerialPolicy([new ClientApiKeyAuthPolicy(["k"]), new AnsweringPolicy()]);

        Assert.That(RootPolicyChecks.Find(root, "The policy built in code", backendNeedsUrl: true), Is.Empty);
    }

    [Test]
    public void Inspect_HostPolicyBeforeSendWithoutUrl_WarnsNamingBaseUrlAndThePolicy()
    {
        var root = new SerialPolicy([new AnsweringPolicy { Name = "mine" }, new SendBackendRequestPolicy(Substitute.For<IBackendClient>())]);

        var (problems, warnings) = RootPolicyChecks.Inspect(root, "The policy built in code", backendNeedsUrl: true);

        Assert.That(problems, Is.Empty);
        Assert.That(warnings.Single(), Does.Contain("Luthien:Backend:BaseUrl is not set").And.Contain("Unless $.policies[0] (mine), a policy of your own"));
    }

    [Test]
    public void Inspect_HostPolicyAndNoSendBackendRequest_WarnsNamingThePolicyAndWhatToAdd()
    {
        var root = new SerialPolicy([new AnsweringPolicy { Name = "MaxTokensCap" }, new NoopPolicy()]);

        var (problems, warnings) = RootPolicyChecks.Inspect(root, Source, backendNeedsUrl: true);

        Assert.That(problems, Is.Empty);
        Assert.That(warnings.Single(), Does.StartWith("Policy file 'p.json': a request reaches the end of the policy chain with no SendBackendRequest")
            .And.Contain("unless $.policies[0] (MaxTokensCap), a policy of your own, answers it").And.Contain("500 server_error")
            .And.Contain("Put SendBackendRequest at the end of the chain"));
    }

    [Test]
    public void Inspect_HostPolicyThenSendBackendRequest_NoChainWarning()
    {
        var root = new SerialPolicy([new AnsweringPolicy(), new SendBackendRequestPolicy(Substitute.For<IBackendClient>())]);

        Assert.That(RootPolicyChecks.Inspect(root, Source, backendNeedsUrl: false).Warnings, Is.Empty);
    }

    [Test]
    public void Inspect_HostPolicyWithBaseUrlSet_NoWarning()
    {
        var root = new SerialPolicy([new AnsweringPolicy(), new SendBackendRequestPolicy(Substitute.For<IBackendClient>())]);

        Assert.That(RootPolicyChecks.Inspect(root, "The policy built in code", backendNeedsUrl: false).Warnings, Is.Empty);
    }

    [Test]
    public void Find_OnlyBuiltInsThatNeverAnswer_Refused()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "LeakedApiKeyDetection", "config": {} },
              { "type": "NoopPolicy", "config": {} },
              { "type": "AddApiKeyHeaderFromEnv", "config": { "api_key_env_var_name": "X" } },
              { "type": "SetBackendPolicy", "config": { "backend_url": "http://127.0.0.1:9/v1" } } ] } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: false), Has.Count.EqualTo(1));
    }

    [Test]
    public void Find_SendWithoutBackendUrl_NamesBaseUrlTheAlternativesAndTheEntry()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "NoopPolicy", "config": {} },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: true);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith("Policy file 'p.json': Luthien:Backend:BaseUrl is not set")
            .And.Contain("SendBackendRequest at $.config.policies[1]")
            .And.Contain("502 backend_unavailable")
            .And.Contain("UseChatClientBackend")
            .And.Contain("SetBackendPolicy"));
    }

    [Test]
    public void Find_SetBackendPolicyBeforeSend_NoBaseUrlNeeded()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "SetBackendPolicy", "config": { "backend_url": "http://127.0.0.1:9/v1" } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: true), Is.Empty);
    }

    [Test]
    public void Find_SetBackendPolicyInOneBranchOnly_NamesThePathWithoutIt()
    {
        var root = Load($$"""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "BranchingPolicy", "config": { "name": "pick",
                "cond_to_policy_map": { "{{IsMini}}": { "type": "SetBackendPolicy", "config": { "backend_url": "http://127.0.0.1:9/v1" } } } } },
              { "type": "SendBackendRequest", "config": {} } ] } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: true);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("Luthien:Backend:BaseUrl is not set").And.Contain("for which no condition of $.config.policies[0] (pick) holds"));
    }

    [Test]
    public void Find_BackendCallPolicyWithoutEndpointOrBaseUrl_NamesBaseUrlAndApiEndpoint()
    {
        // It sends every policed request itself: with no URL anywhere each one would be a 502.
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["k"] } },
              { "type": "BackendCallPolicy", "config": { "backend_call_spec": {} } } ] } }
            """);

        var problems = RootPolicyChecks.Find(root, Source, backendNeedsUrl: true);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.StartWith("Policy file 'p.json': Luthien:Backend:BaseUrl is not set")
            .And.Contain("BackendCallPolicy at $.config.policies[1]")
            .And.Contain("api_endpoint"));
    }

    [Test]
    public void Find_BackendCallPolicyWithApiEndpoint_NoBaseUrlNeeded()
    {
        var root = Load("""
            { "type": "BackendCallPolicy", "config": { "backend_call_spec": { "api_endpoint": "http://127.0.0.1:9/v1" } } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: true), Is.Empty);
    }

    [Test]
    public void Find_BackendCallPolicyAfterSetBackendPolicy_NoBaseUrlNeeded()
    {
        var root = Load("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "SetBackendPolicy", "config": { "backend_url": "http://127.0.0.1:9/v1" } },
              { "type": "BackendCallPolicy", "config": { "backend_call_spec": {} } } ] } }
            """);

        Assert.That(RootPolicyChecks.Find(root, Source, backendNeedsUrl: true), Is.Empty);
    }

    [Test]
    public void Find_ManyBranchesInARow_StaysBounded()
    {
        var branch = new BranchingPolicy([new(Condition.Parse(IsMini.Replace("\\\"", "\"", StringComparison.Ordinal)), new NoopPolicy())], new NoopPolicy());
        var root = new SerialPolicy([.. Enumerable.Repeat<ControlPolicy>(branch, 64), new NoopPolicy()]);

        var problems = RootPolicyChecks.Find(root, "The policy built in code", backendNeedsUrl: false);

        Assert.That(problems, Has.Count.EqualTo(1));
        Assert.That(problems[0], Does.Contain("$.policies[0] (BranchingPolicy) takes the branch $.policies[0].branches[0] (NoopPolicy)")
            .And.Contain("and 61 more branch choices"));
    }

    private sealed class AnsweringPolicy : ControlPolicy
    {
        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
        {
            transaction.Response.SetJson(200, new System.Text.Json.Nodes.JsonObject());
            return ValueTask.CompletedTask;
        }
    }
}
