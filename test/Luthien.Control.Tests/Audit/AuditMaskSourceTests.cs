using Luthien.Control.Streaming;

namespace Luthien.Control.Tests.Audit;

/// <summary>Each record is masked with the secrets of the chain its transaction ran on, whatever chain is in force.</summary>
public sealed class AuditMaskSourceTests
{
    // The masks' matching is not exercised here (it runs under a time budget a loaded machine can exceed): which mask
    // serves which root is.
    [Test]
    public void For_RecordsOfTwoChains_EachGetsItsOwnChainsMaskBuiltOnce()
    {
        var alpha = new ResponseContentPolicy(["alpha-[0-9]{4}"]);
        var bravo = new ResponseContentPolicy(["bravo-[0-9]{4}"]);
        ControlPolicy current = bravo;
        var built = new List<ControlPolicy>();
        var source = new AuditMaskSource(root => { built.Add(root); return AuditMask.For(root); }, () => current);

        var old = source.For(alpha);
        var now = source.For(bravo);
        var refused = source.For(null);
        var oldAgain = source.For(alpha);

        Assert.That(now, Is.Not.SameAs(old));
        Assert.That(refused, Is.SameAs(now));
        Assert.That(oldAgain, Is.SameAs(old));
        Assert.That(built, Is.EqualTo(new ControlPolicy[] { alpha, bravo }));
    }
}
