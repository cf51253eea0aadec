namespace Luthien.Control.Tests;

public class TransactionIdsTests
{
    [Test]
    public void Next_ManyIds_AllDistinctAndWellFormed()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => TransactionIds.Next()).ToList();

        Assert.That(ids, Is.Unique);
        Assert.That(ids, Is.All.Matches("^ltx-[0-9a-v]{21}$"));
    }

    [Test]
    public void Next_InOneProcess_SortsInCreationOrder()
    {
        var first = TransactionIds.Next();
        var second = TransactionIds.Next();

        Assert.That(string.CompareOrdinal(first, second), Is.LessThan(0));
        Assert.That(second[..12], Is.EqualTo(first[..12]));
    }
}
