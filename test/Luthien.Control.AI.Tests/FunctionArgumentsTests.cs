using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests;

public class FunctionArgumentsTests
{
    [Test]
    public void ToCall_EmptyArguments_NoArgumentsNoError()
    {
        var call = FunctionArguments.ToCall("c", "f", "  ");

        Assert.Multiple(() =>
        {
            Assert.That(call.Arguments, Is.Null);
            Assert.That(call.Exception, Is.Null);
            Assert.That(FunctionArguments.ToJson(call), Is.EqualTo("{}"));
        });
    }

    [TestCase("null")]
    [TestCase("[1,2]")]
    [TestCase("\"text\"")]
    public void ToCall_JsonThatIsNotAnObject_RawTextKept(string arguments)
    {
        var call = FunctionArguments.ToCall("c", "f", arguments);

        Assert.Multiple(() =>
        {
            Assert.That(call.Exception, Is.Not.Null);
            Assert.That(FunctionArguments.ToJson(call), Is.EqualTo(arguments));
        });
    }

    [Test]
    public void ToJson_NestedObjectsAndNumbers_CompactJson()
    {
        var call = new FunctionCallContent("c", "f", new Dictionary<string, object?>
        {
            ["a"] = new Dictionary<string, object?> { ["b"] = new object?[] { 1, 2.5, null, "x</script>" } },
            ["big"] = 12345678901234L,
        });

        Assert.That(FunctionArguments.ToJson(call), Is.EqualTo("""{"a":{"b":[1,2.5,null,"x</script>"]},"big":12345678901234}"""));
    }

    [Test]
    public void ToCall_ThenToJson_SameText()
    {
        const string arguments = """{"a":{"b":[1,2.5e3,-0.1]},"s":"q\"\n\u00e9"}""";

        var call = FunctionArguments.ToCall("c", "f", arguments);

        Assert.That(FunctionArguments.ToJson(FunctionArguments.ToCall("c", "f", FunctionArguments.ToJson(call))), Is.EqualTo(FunctionArguments.ToJson(call)));
    }
}
