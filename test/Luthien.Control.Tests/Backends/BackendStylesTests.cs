namespace Luthien.Control.Tests.Backends;

public class BackendStylesTests
{
    [TestCase("https://res.openai.azure.com/openai", BackendStyle.Auto, BackendStyle.Azure)]
    [TestCase("https://res.openai.azure.com", BackendStyle.Auto, BackendStyle.Azure)]
    [TestCase("https://res.cognitiveservices.azure.com/", BackendStyle.Auto, BackendStyle.Azure)]
    [TestCase("https://res.services.ai.azure.com/openai", BackendStyle.Auto, BackendStyle.Azure)]
    [TestCase("https://res.openai.azure.com/openai/v1", BackendStyle.Auto, BackendStyle.OpenAI)]
    [TestCase("https://api.openai.com/v1", BackendStyle.Auto, BackendStyle.OpenAI)]
    [TestCase("https://openai.azure.com.evil.example/openai", BackendStyle.Auto, BackendStyle.OpenAI)]
    [TestCase("http://127.0.0.1:1234/", BackendStyle.Azure, BackendStyle.Azure)]
    [TestCase("https://res.openai.azure.com/openai", BackendStyle.OpenAI, BackendStyle.OpenAI)]
    public void Resolve_UrlAndConfiguredStyle_Style(string url, BackendStyle configured, BackendStyle expected)
    {
        Assert.That(BackendStyles.Resolve(new Uri(url), configured), Is.EqualTo(expected));
    }

    [TestCase("https://res.openai.azure.com", "https://res.openai.azure.com/openai")]
    [TestCase("https://res.openai.azure.com/", "https://res.openai.azure.com/openai")]
    [TestCase("https://res.openai.azure.com/openai/", "https://res.openai.azure.com/openai")]
    [TestCase("http://127.0.0.1:1234/gateway", "http://127.0.0.1:1234/gateway/openai")]
    public void AzureRoot_BaseUrl_EndsInOpenAi(string baseUrl, string expected)
    {
        Assert.That(BackendStyles.AzureRoot(new Uri(baseUrl)).ToString(), Is.EqualTo(expected));
        Assert.That(BackendStyles.AzureEndpoint(new Uri(baseUrl)).ToString(), Is.EqualTo(expected[..^"openai".Length]));
    }

    [TestCase("https://res.openai.azure.com/openai/v1")]
    [TestCase("https://res.openai.azure.com/openai/deployments/gpt-4o")]
    [TestCase("https://res.openai.azure.com/openai?api-version=1")]
    public void CheckAzureBaseUrl_NotAnEndpoint_SaysWhy(string url)
    {
        Assert.That(BackendStyles.CheckAzureBaseUrl(new Uri(url)), Is.Not.Null);
    }

    [TestCase("gpt-4o")]
    [TestCase("my_deployment.v2")]
    public void Deployment_PlainName_Kept(string model)
    {
        Assert.That(BackendStyles.Deployment(model), Is.EqualTo(model));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("..")]
    [TestCase("a/b")]
    [TestCase("a%2Fb")]
    [TestCase("x?api-version=1")]
    [TestCase("name.")]
    [TestCase("é")]
    public void Deployment_NotADeploymentName_Throws400(string? model)
    {
        var ex = Assert.Throws<InvalidRequestException>(() => BackendStyles.Deployment(model));

        Assert.That(ex!.StatusCode, Is.EqualTo(400));
        Assert.That(ex.Param, Is.EqualTo("model"));
    }

    [TestCase("2024-10-21", true)]
    [TestCase("2025-04-01-preview", true)]
    [TestCase("preview", true)]
    [TestCase("2024-10-21&x=1", false)]
    [TestCase("", false)]
    [TestCase("a b", false)]
    public void IsApiVersion_Value_Token(string value, bool expected)
    {
        Assert.That(BackendStyles.IsApiVersion(value), Is.EqualTo(expected));
    }
}
