using NSubstitute;

namespace Luthien.Control.Streaming.Tests;

public class StreamingPoliciesTests
{
    private static PolicyLoader CreateLoader() =>
        new(new PolicyRegistry().AddStreamingPolicies(), Substitute.For<IServiceProvider>());

    [Test]
    public void AddStreamingPolicies_SnakeCaseConfigWithCommentsAndTrailingCommas_Binds()
    {
        var policy = CreateLoader().LoadJson("""
            { "type": "ResponseContentPolicy", "config": {
                // the contract's example
                "name": "no-keys", "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "block", "replacement": "[R]", } }
            """);

        Assert.That(policy, Is.InstanceOf<ResponseContentPolicy>());
        Assert.That(policy.Name, Is.EqualTo("no-keys"));
        Assert.That(((ResponseContentPolicy)policy).Action, Is.EqualTo(ContentAction.Block));
    }

    [Test]
    public void AddStreamingPolicies_UnknownField_NamesPolicyAndField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            { "type": "ToolCallPolicy", "config": { "allowed_tool": ["get_weather"] } }
            """));

        Assert.That(ex!.Message, Does.Contain("ToolCallPolicy").And.Contain("allowed_tool"));
    }

    [Test]
    public void AddStreamingPolicies_WrongFieldType_NamesPolicyAndField()
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson("""
            { "type": "TransactionContextLoggingPolicy", "config": { "log_level": 3 } }
            """));

        Assert.That(ex!.Message, Does.Contain("TransactionContextLoggingPolicy").And.Contain("log_level"));
    }
}
