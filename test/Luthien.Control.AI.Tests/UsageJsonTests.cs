using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class UsageJsonTests
{
    [Test]
    public void ToNode_ThenFromNode_SameCounts()
    {
        var usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 20, TotalTokenCount = 30, CachedInputTokenCount = 4, ReasoningTokenCount = 5 };

        var back = UsageJson.FromNode(UsageJson.ToNode(usage));

        Assert.That(UsageJson.SameCounts(usage, back), Is.True);
        Assert.That((back.CachedInputTokenCount, back.ReasoningTokenCount), Is.EqualTo(((long?)4, (long?)5)));
    }

    [Test]
    public void Read_UnknownMembers_Skipped()
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes("""{"x":{"y":[1]},"prompt_tokens":2,"completion_tokens_details":{"audio_tokens":1,"reasoning_tokens":3}}"""));
        reader.Read();

        var usage = UsageJson.Read(ref reader);

        Assert.That((usage.InputTokenCount, usage.ReasoningTokenCount, usage.OutputTokenCount), Is.EqualTo(((long?)2, (long?)3, (long?)null)));
    }

    [Test]
    public void ToNode_NoTotal_SumOfInputAndOutput()
    {
        Assert.That(UsageJson.ToNode(new UsageDetails { InputTokenCount = 2, OutputTokenCount = 3 })["total_tokens"]!.GetValue<long>(), Is.EqualTo(5));
    }

    [Test]
    public void SameCounts_DifferentOutput_False()
    {
        Assert.That(UsageJson.SameCounts(new UsageDetails { OutputTokenCount = 1 }, new UsageDetails { OutputTokenCount = 2 }), Is.False);
    }
}
