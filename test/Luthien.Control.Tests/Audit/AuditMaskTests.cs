using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

public sealed class AuditMaskTests
{
    private const string OpenAiKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";

    [Test]
    public void Apply_ClientKeyMadeHere_Masked()
    {
        var key = ClientKeyHash.NewKey();

        Assert.That(new AuditMask([]).Apply($"use {key} please"), Is.EqualTo("use [REDACTED] please"));
    }

    [Test]
    public void Apply_PolicyPattern_Masked()
    {
        var mask = AuditMask.For(new SerialPolicy([new LeakedApiKeyDetectionPolicy(["CORP-[0-9]{6}"])]));

        Assert.That(mask.Apply("id CORP-123456 here"), Is.EqualTo("id [REDACTED] here"));
    }

    [Test]
    public void Apply_PatternInBranch_Masked()
    {
        var branch = new BranchingPolicy([], new LeakedApiKeyDetectionPolicy(["ZED-[0-9]{4}"]));

        Assert.That(AuditMask.For(new SerialPolicy([branch])).Apply("ZED-1234"), Is.EqualTo("[REDACTED]"));
    }

    [Test]
    public void Apply_NothingSecret_SameInstance()
    {
        const string text = "hello world";

        Assert.That(new AuditMask([]).Apply(text), Is.SameAs(text));
    }

    [Test]
    public void Apply_BearerToken_Masked()
    {
        Assert.That(new AuditMask([]).Apply("Authorization: Bearer abcdefgh12345678"), Does.Not.Contain("abcdefgh12345678"));
    }

    [Test]
    public void Apply_PatternWithComment_Masked()
    {
        // In x mode a '#' comments out the rest of the line: the pattern must not swallow the others' check.
        var mask = AuditMask.For(new SerialPolicy([new LeakedApiKeyDetectionPolicy(["(?x) CORP-[0-9]{6} # corporate ids", "ZED-[0-9]{4}"])]));

        Assert.That(mask.Apply("a CORP-123456 b ZED-1234"), Is.EqualTo("a [REDACTED] b [REDACTED]"));
    }

    [Test]
    public void Apply_PatternThatNeedsBacktracking_Masked()
    {
        var mask = AuditMask.For(new SerialPolicy([new LeakedApiKeyDetectionPolicy([@"(?<=pin=)\d{4}"])]));

        Assert.That(mask.Apply("pin=1234"), Is.EqualTo("pin=[REDACTED]"));
        Assert.That(mask.Apply("code=1234"), Is.EqualTo("code=1234"));
    }

    [Test]
    public void Apply_AnchoredPatternAndInlineOptions_EachAsAlone()
    {
        var mask = AuditMask.For(new SerialPolicy([new LeakedApiKeyDetectionPolicy(["^[0-9]{6}$", "(?i)tok-[a-z]{4}", "KEY-[A-Z]{4}"])]));

        Assert.That(mask.Apply("123456"), Is.EqualTo("[REDACTED]"));
        Assert.That(mask.Apply("x 123456"), Is.EqualTo("x 123456"));
        Assert.That(mask.Apply("TOK-abcd"), Is.EqualTo("[REDACTED]"));
        Assert.That(mask.Apply("key-abcd"), Is.EqualTo("key-abcd"));
    }

    [Test]
    public void Apply_ConfiguredClientKey_Masked()
    {
        var mask = AuditMask.For(new SerialPolicy([new ClientApiKeyAuthPolicy(["team-a.key+1"])]));

        Assert.That(mask.Apply("key team-a.key+1 here, not team-aXkey+1"), Is.EqualTo("key [REDACTED] here, not team-aXkey+1"));
    }

    [Test]
    public void Apply_BackendKeyOfAddApiKeyHeader_Masked()
    {
        var mask = AuditMask.For(new SerialPolicy([new AddApiKeyHeaderPolicy("0123456789abcdef0123456789abcdef")]));

        Assert.That(mask.Apply("echo 0123456789abcdef0123456789abcdef"), Is.EqualTo("echo [REDACTED]"));
    }
}
