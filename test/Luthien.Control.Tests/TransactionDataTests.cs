namespace Luthien.Control.Tests;

public class TransactionDataTests
{
    private static readonly TransactionKey<int> Count = new("count");
    private static readonly TransactionKey<string> Label = new("label");

    [Test]
    public void TryGet_ValueSet_ReturnsTypedValue()
    {
        var data = new TransactionData();
        data.Set(Count, 3);

        Assert.That(data.TryGet(Count, out var value), Is.True);
        Assert.That(value, Is.EqualTo(3));
    }

    [Test]
    public void GetOrDefault_Missing_ReturnsDefault()
    {
        var data = new TransactionData();

        Assert.That(data.GetOrDefault(Label, "none"), Is.EqualTo("none"));
    }

    [Test]
    public void TryGet_SameNameOtherType_ReturnsFalse()
    {
        var data = new TransactionData();
        data.Set(new TransactionKey<string>("count"), "three");

        Assert.That(data.TryGet(Count, out _), Is.False);
    }
}
