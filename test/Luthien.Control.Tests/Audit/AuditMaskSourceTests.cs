using Luthien.Control.Streaming;

namespace Luthien.Control.Tests.Audit;

/// <summary>Each record is masked with the secrets of the chain its transaction ran on, whatever chain is in force.</summary>
public sealed class AuditMaskSourceTests
{
    [Test]
    public void For_RecordsOfTwoChains_EachMaskedWithItsOwnChainsPatterns()
    {
        var alpha = new ResponseContentPolicy(["alpha-[0-9]{4}"]);
        var bravo = new ResponseContentPolicy(["bravo-[0-9]{4}"]);
        ControlPolicy current = bravo;
        var source = new AuditMaskSource(root => AuditMask.For(root), () => current);

        var old = source.For(alpha).Apply("alpha-1111 bravo-2222");
        var now = source.For(bravo).Apply("alpha-1111 bravo-2222");
        var refused = source.For(null).Apply("alpha-1111 bravo-2222");

        Assert.That(old, Is.EqualTo("[REDACTED] bravo-2222"));
        Assert.That(now, Is.EqualTo("alpha-1111 [REDACTED]"));
        Assert.That(refused, Is.EqualTo("alpha-1111 [REDACTED]"));
        var again = source.For(alpha);
        Assert.That(again, Is.SameAs(source.For(alpha)));
    }
}
