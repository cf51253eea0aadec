namespace Luthien.Control.Tests;

public class SecretRedactorTests
{
    [Test]
    public void RedactText_BearerAndKeys_AreHidden()
    {
        var text = SecretRedactor.RedactText("auth Bearer abc.def-123 and sk-ABCDEFGHIJKLMNOPQRSTUV here");

        Assert.That(text, Does.Not.Contain("abc.def-123"));
        Assert.That(text, Does.Not.Contain("sk-ABCDEFGHIJKLMNOPQRSTUV"));
        Assert.That(text, Does.Contain("Bearer ***"));
    }
}
