using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class FinishReasonsTests
{
    [TestCase("stop")]
    [TestCase("length")]
    [TestCase("tool_calls")]
    [TestCase("content_filter")]
    public void FromWireThenToWire_KnownValue_Same(string value)
    {
        Assert.That(FinishReasons.ToWire(FinishReasons.FromWire(value)!.Value, hasCalls: false), Is.EqualTo(value));
    }

    [Test]
    public void FromWire_FunctionCall_ToolCalls()
    {
        Assert.That(FinishReasons.FromWire("function_call"), Is.EqualTo(ChatFinishReason.ToolCalls));
    }

    [Test]
    public void FromWire_Unknown_KeptAsIs()
    {
        Assert.That(FinishReasons.FromWire("eos")!.Value.Value, Is.EqualTo("eos"));
    }

    [Test]
    public void ToWire_UnknownWithoutCalls_Stop()
    {
        Assert.That(FinishReasons.ToWire(new ChatFinishReason("eos"), hasCalls: false), Is.EqualTo("stop"));
    }

    [TestCase("")]
    [TestCase(" ")]
    public void FromWire_Blank_None(string value)
    {
        Assert.That(FinishReasons.FromWire(value), Is.Null);
    }
}
