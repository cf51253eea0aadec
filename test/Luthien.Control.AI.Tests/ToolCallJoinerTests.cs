namespace Luthien.Control.AI.Tests;

public class ToolCallJoinerTests
{
    private ToolCallJoiner _joiner = null!;
    private List<WireCall> _completed = null!;

    [SetUp]
    public void SetUp()
    {
        _joiner = new ToolCallJoiner();
        _completed = [];
    }

    [Test]
    public void Add_WholeCall_CompleteAtOnce()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", """{"a":1}"""), _completed);

        Assert.That(_completed, Is.EqualTo(new[] { new WireCall("c1", "f", """{"a":1}""") }));
    }

    [Test]
    public void Add_ArgumentsInPieces_CompleteWhenTheObjectCloses()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", """{"a":{"b":1}"""), _completed);
        Assert.That(_completed, Is.Empty);

        _joiner.Add(new ToolCallFragment(0, null, null, "}"), _completed);

        Assert.That(_completed, Is.EqualTo(new[] { new WireCall("c1", "f", """{"a":{"b":1}}""") }));
    }

    [Test]
    public void Add_NextCallStarts_OpenCallComplete()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", ""), _completed);

        _joiner.Add(new ToolCallFragment(1, "c2", "g", "{}"), _completed);

        Assert.That(_completed.Select(c => c.Id), Is.EqualTo(new[] { "c1", "c2" }));
    }

    [Test]
    public void CompleteAll_OpenCalls_InIndexOrderWithRawArguments()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", "{broken"), _completed);

        _joiner.CompleteAll(_completed);

        Assert.Multiple(() =>
        {
            Assert.That(_completed, Is.EqualTo(new[] { new WireCall("c1", "f", "{broken") }));
            Assert.That(_joiner.HasOpen, Is.False);
        });
    }

    [Test]
    public void Add_WhitespaceAfterComplete_Ignored()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", "{}"), _completed);

        _joiner.Add(new ToolCallFragment(0, null, null, " \n"), _completed);

        Assert.That(_completed, Has.Count.EqualTo(1));
    }

    [Test]
    public void Add_MoreArgumentsAfterComplete_Throws()
    {
        _joiner.Add(new ToolCallFragment(0, "c1", "f", "{}"), _completed);

        Assert.Throws<InvalidOperationException>(() => _joiner.Add(new ToolCallFragment(0, null, null, "x"), _completed));
    }

    [Test]
    public void Add_NoIdEver_CallGetsAnId()
    {
        _joiner.Add(new ToolCallFragment(0, null, "f", "{}"), _completed);

        Assert.That(_completed.Single().Id, Does.StartWith("call_"));
    }
}
