using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Policies.Conditions;

public class ComparisonConditionTests
{
    private static bool Evaluate(ComparisonOperator op, string leftJson, string rightJson) =>
        new ComparisonCondition(op, new StaticValue(JsonNode.Parse(leftJson)), new StaticValue(JsonNode.Parse(rightJson)))
            .Evaluate(TestTransactions.ChatWithText("hi"));

    [TestCase(ComparisonOperator.Equals, "\"a\"", "\"a\"", true)]
    [TestCase(ComparisonOperator.Equals, "1", "1.0", true)]
    [TestCase(ComparisonOperator.Equals, "\"1\"", "1", false)]
    [TestCase(ComparisonOperator.Equals, "{\"a\":[1,2]}", "{\"a\":[1,2]}", true)]
    [TestCase(ComparisonOperator.NotEquals, "\"a\"", "\"b\"", true)]
    [TestCase(ComparisonOperator.NotEquals, "2", "2", false)]
    [TestCase(ComparisonOperator.Contains, "\"gpt-4o-mini\"", "\"4o\"", true)]
    [TestCase(ComparisonOperator.Contains, "[\"a\",\"b\"]", "\"b\"", true)]
    [TestCase(ComparisonOperator.Contains, "{\"k\":1}", "\"k\"", true)]
    [TestCase(ComparisonOperator.Contains, "5", "\"5\"", false)]
    [TestCase(ComparisonOperator.RegexMatch, "\"gpt-4o-mini\"", "\"^gpt-4\"", true)]
    [TestCase(ComparisonOperator.RegexMatch, "\"claude\"", "\"^gpt\"", false)]
    [TestCase(ComparisonOperator.LessThan, "1", "2", true)]
    [TestCase(ComparisonOperator.LessThan, "2", "2", false)]
    [TestCase(ComparisonOperator.LessThanOrEqual, "2", "2", true)]
    [TestCase(ComparisonOperator.GreaterThan, "3.5", "3", true)]
    [TestCase(ComparisonOperator.GreaterThanOrEqual, "\"b\"", "\"a\"", true)]
    [TestCase(ComparisonOperator.GreaterThan, "\"b\"", "1", false)]
    public void Evaluate_StaticValues_ComparesAsLuthienControl(object op, string left, string right, bool expected)
    {
        Assert.That(Evaluate((ComparisonOperator)op, left, right), Is.EqualTo(expected));
    }

    [Test]
    public void Evaluate_MissingPath_ComparesAsNull()
    {
        var condition = new ComparisonCondition(ComparisonOperator.Equals, new TransactionPathValue("request.payload.nothing"), new StaticValue(null));

        Assert.That(condition.Evaluate(TestTransactions.ChatWithText("hi")), Is.True);
    }

    [Test]
    public void Constructor_InvalidStaticRegex_Throws()
    {
        Assert.Throws<ArgumentException>(() => _ = new ComparisonCondition(ComparisonOperator.RegexMatch, new StaticValue("x"), new StaticValue("(")));
    }
}
