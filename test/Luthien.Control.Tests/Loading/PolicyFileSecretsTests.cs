namespace Luthien.Control.Tests.Loading;

/// <summary>A message about a policy file never repeats a secret the file holds.</summary>
public sealed class PolicyFileSecretsTests
{
    [Test]
    public void Mask_ValuesUnderCredentialNames_Masked()
    {
        const string json = """{ "type": "ClientApiKeyAuth", "config": { "keys": ["alpha-key-1", "alpha-key-10"], "other": "visible-value" } }""";

        var masked = PolicyFileSecrets.Mask("got 'alpha-key-10', 'alpha-key-1' and 'visible-value'", json);

        Assert.That(masked, Is.EqualTo("got '***', '***' and 'visible-value'"));
    }

    [Test]
    public void Mask_KeysWrittenAsNames_Masked()
    {
        const string json = """{ "type": "ClientApiKeyAuth", "config": { "keys": { "beta-secret-7": "x" } } }""";

        var masked = PolicyFileSecrets.Mask("field 'keys': 'beta-secret-7' is not expected", json);

        Assert.That(masked, Does.Not.Contain("beta-secret-7"));
    }

    [Test]
    public void Mask_NotJsonWithKeyShapedText_ShapeMasked()
    {
        const string key = "sk-Abcdefghijklmnopqrstuvwx";

        var masked = PolicyFileSecrets.Mask($"Unknown policy type '{key}' at $.", "{ not json " + key);

        Assert.That(masked, Does.Not.Contain(key));
    }
}
