
namespace Luthien.Control.Tests.Policies.Conditions;

public class ConditionParserTests
{
    [Test]
    public void Parse_LuthienSerializedComparison_Evaluates()
    {
        // As luthien_control serializes an EqualsCondition (with its "comparator" field).
        var condition = ConditionParser.Parse(
            """{"type":"equals","left":{"type":"transaction_path","path":"request.payload.model"},"right":{"type":"static","value":"gpt-4o"},"comparator":"equals"}""");

        Assert.That(condition, Is.InstanceOf<ComparisonCondition>());
        Assert.That(condition.Evaluate(TestTransactions.ChatWithText("hi")), Is.True);
    }

    [Test]
    public void Parse_BareStaticValue_IsStatic()
    {
        var condition = ConditionParser.Parse("""{"type":"contains","left":{"type":"transaction_path","path":"request.payload.model"},"right":"4o"}""");

        Assert.That(condition.Evaluate(TestTransactions.ChatWithText("hi")), Is.True);
    }

    [Test]
    public void Parse_NestedLogical_Evaluates()
    {
        var condition = ConditionParser.Parse("""
            {"type":"all","conditions":[
              {"type":"any","conditions":[
                {"type":"equals","left":{"type":"static","value":1},"right":{"type":"static","value":2}},
                {"type":"regex_match","left":{"type":"transaction_path","path":"request.payload.model"},"right":{"type":"static","value":"^gpt"}}]},
              {"type":"not","cond":{"type":"less_than","left":{"type":"static","value":3},"right":{"type":"static","value":1}}}]}
            """);

        Assert.That(condition, Is.InstanceOf<AllCondition>());
        Assert.That(condition.Evaluate(TestTransactions.ChatWithText("hi")), Is.True);
    }

    [TestCase("""{"type":"sometimes"}""", "unknown condition type 'sometimes'")]
    [TestCase("""{"type":"equals","left":1}""", "needs 'left' and 'right'")]
    [TestCase("""{"type":"not"}""", "needs 'cond'")]
    [TestCase("""{"type":"all"}""", "'conditions' array")]
    [TestCase("""{"type":"equals","left":{"type":"transaction_path","path":"x"},"right":1}""", "at least two")]
    [TestCase("""{"type":"equals","left":{"type":"weird"},"right":1}""", "unknown value type 'weird'")]
    [TestCase("""not json""", "not valid JSON")]
    public void Parse_Invalid_ThrowsWithReason(string json, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => ConditionParser.Parse(json));

        Assert.That(ex!.Message, Does.Contain(reason));
    }
}

public class ConditionTests
{
    [Test]
    public async Task Parse_BranchBuiltInCode_PicksByModel()
    {
        var log = new List<string>();
        var isMini = Condition.Parse("""{"type":"regex_match","left":{"type":"transaction_path","path":"request.payload.model"},"right":{"type":"static","value":"mini$"}}""");
        var branch = new BranchingPolicy([new(isMini, new RecordingPolicy("mini", log))], new RecordingPolicy("full", log));

        await branch.RunAsync(TestTransactions.Chat("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""));
        await branch.RunAsync(TestTransactions.Chat("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.That(log.Where(l => l.EndsWith(":request", StringComparison.Ordinal)), Is.EqualTo(new[] { "mini:request", "full:request" }));
    }

    [Test]
    public void Parse_NotACondition_ThrowsFormatException()
    {
        Assert.Throws<FormatException>(() => Condition.Parse("""{"type":"nope"}"""));
    }
}
