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

    [Test]
    public void AddStreamingPolicies_ContentScope_Binds()
    {
        var policy = (ResponseContentPolicy)CreateLoader().LoadJson("""
            { "type": "ResponseContentPolicy", "config": { "patterns": ["x+"], "scope": ["text", "tool_arguments"] } }
            """);

        Assert.That(policy.Scope, Is.EqualTo(ContentScope.Text | ContentScope.ToolArguments));
    }

    [Test]
    public void AddStreamingPolicies_ContentScopeLeftOut_All()
    {
        var policy = (ResponseContentPolicy)CreateLoader().LoadJson("""{ "type": "ResponseContentPolicy", "config": { "patterns": ["x+"] } }""");

        Assert.That(policy.Scope, Is.EqualTo(ContentScope.All));
    }

    [TestCase("""["text", "logprobs"]""", "logprobs")]
    [TestCase("""[]""", "scope is empty")]
    [TestCase("\"text\"", "scope")]
    public void AddStreamingPolicies_BadContentScope_NamesPolicyAndField(string scope, string detail)
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson($$"""
            { "type": "ResponseContentPolicy", "config": { "patterns": ["x+"], "scope": {{scope}} } }
            """));

        Assert.That(ex!.Message, Does.Contain("ResponseContentPolicy").And.Contain("scope").And.Contain(detail));
    }

    [Test]
    public void AddStreamingPolicies_ArgumentRules_BindAndJudge()
    {
        var policy = (ToolCallPolicy)CreateLoader().LoadJson("""
            { "type": "ToolCallPolicy", "config": { "argument_rules": {
                "run_sql": { "allow": ["^\\s*\\{\\s*\"query\"\\s*:\\s*\"SELECT "], "block": ["(?i)drop\\s+table"] },
                "*": { "block": ["rm -rf"] } } } }
            """);

        Assert.That(policy.AreArgumentsAllowed("run_sql", """{"query": "SELECT 1"}"""), Is.True);
        Assert.That(policy.AreArgumentsAllowed("run_sql", """{"query": "SELECT 1; drop  table t"}"""), Is.False);
        Assert.That(policy.AreArgumentsAllowed("run_sql", """{"query": "DELETE FROM t"}"""), Is.False);
        Assert.That(policy.AreArgumentsAllowed("shell", """{"cmd": "rm -rf /"}"""), Is.False);
        Assert.That(policy.IsAllowed("shell"), Is.True);
    }

    [TestCase("""{ "argument_rules": { "f": { "block": ["(unclosed"] } } }""", "argument_rules['f'].block[0]")]
    [TestCase("""{ "argument_rules": { "f": { } } }""", "argument_rules['f']")]
    [TestCase("""{ "argument_rules": { "f": { "allowed": ["x"] } } }""", "allowed")]
    [TestCase("""{ "argument_rules": { "f": ["x"] } }""", "argument_rules")]
    [TestCase("""{ }""", "argument_rules")]
    public void AddStreamingPolicies_BadArgumentRules_NamesPolicyAndField(string config, string field)
    {
        var ex = Assert.Throws<PolicyLoadException>(() => CreateLoader().LoadJson($$"""{ "type": "ToolCallPolicy", "config": {{config}} }"""));

        Assert.That(ex!.Message, Does.Contain("ToolCallPolicy").And.Contain(field));
    }
}
