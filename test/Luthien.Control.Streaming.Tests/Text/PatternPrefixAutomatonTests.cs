
namespace Luthien.Control.Streaming.Tests.Text;

public class PatternPrefixAutomatonTests
{
    private static long PendingStart(string pattern, string text)
    {
        Assert.That(PatternPrefixAutomaton.TryCreate([pattern], false, out var automaton, out var error), Is.True, error);
        var tracker = automaton!.CreateTracker();
        tracker.Append(text);
        return tracker.PendingStart;
    }

    [TestCase("SECRET-[0-9]{6}", "one two", 7)]
    [TestCase("SECRET-[0-9]{6}", "one S", 4)]
    [TestCase("SECRET-[0-9]{6}", "one SECRET-12", 4)]
    [TestCase("SECRET-[0-9]{6}", "one SECRET-1x", 13)]
    [TestCase("SECRET-[0-9]{6}", "SECRET-123456", 13)]
    [TestCase("sk-[A-Za-z0-9]{20,}", "key sk-abcdefghijklmnopqrstuvwxyz", 4)]
    [TestCase("sk-[A-Za-z0-9]{20,}", "key sk-abc def", 14)]
    [TestCase("foo|foobar", "xfoo", 1)]
    [TestCase("a(bc)*d", "abcbc", 0)]
    [TestCase(@"\d{3}-\d{4}", "call 555-12", 5)]
    [TestCase("[^ ]+@example\\.com", "mail bob@exa", 5)]
    [TestCase("(?i)secret", "a SeCr", 2)]
    [TestCase("^abc$", "xab", 1)]
    [TestCase("a$", "xa", 1)]
    [TestCase("a$", "xa\n", 1)]
    [TestCase("a$", "xa\nb", 4)]
    [TestCase(@"a\b", "xa", 1)]
    [TestCase(@"a\b", "xa ", 3)]
    public void PendingStart_Text_IsEarliestPossibleMatchStart(string pattern, string text, long expected)
    {
        Assert.That(PendingStart(pattern, text), Is.EqualTo(expected));
    }

    [Test]
    public void Append_InPieces_SameAsWhole()
    {
        PatternPrefixAutomaton.TryCreate(["SECRET-[0-9]{6}", "sk-[a-z]{4,}"], false, out var automaton, out _);
        var whole = automaton!.CreateTracker();
        whole.Append("xx SECRET-12 sk-ab");
        var pieces = automaton.CreateTracker();
        foreach (var piece in new[] { "xx S", "ECRET-1", "2 sk", "-ab" })
        {
            pieces.Append(piece);
        }

        Assert.That(pieces.PendingStart, Is.EqualTo(whole.PendingStart));
    }

    [TestCase(@"(a)\1", "backreferences")]
    [TestCase("a(?=b)", "lookarounds")]
    [TestCase(@"\p{L}", "Unicode category")]
    [TestCase("a++", "possessive")]
    [TestCase(@"\Ga", @"\G is not supported")]
    public void TryCreate_UnsupportedConstruct_SaysWhy(string pattern, string reason)
    {
        Assert.That(PatternPrefixAutomaton.TryCreate([pattern], false, out _, out var error), Is.False);
        Assert.That(error, Does.Contain(reason));
    }
}
