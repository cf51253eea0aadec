namespace Luthien.Control.Tests.Errors;

/// <summary>The error kinds' tags: the closed set every span and metric uses.</summary>
public sealed class ControlErrorKindsTests
{
    [Test]
    public void Tag_EveryKind_IsItsOwnSnakeCaseName()
    {
        var kinds = Enum.GetValues<ControlErrorKind>();

        var tags = kinds.Select(ControlErrorKinds.Tag).ToList();

        Assert.That(tags, Is.Unique);
        Assert.That(tags, Has.All.Matches<string>(t => t.All(c => char.IsAsciiLetterLower(c) || c == '_')));
        Assert.That(ControlErrorKinds.Tag(ControlErrorKind.InvalidRequest), Is.EqualTo("invalid_request"));
        Assert.That(ControlErrorKinds.Tag(ControlErrorKind.ClientDisconnected), Is.EqualTo("client_disconnected"));
    }
}
