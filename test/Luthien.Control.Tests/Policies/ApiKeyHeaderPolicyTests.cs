
namespace Luthien.Control.Tests.Policies;

public class ApiKeyHeaderPolicyTests
{
    [Test]
    public async Task AddApiKeyHeader_KeyConfigured_SetsBackendKey()
    {
        var transaction = TestTransactions.ChatWithText("hi");

        await new AddApiKeyHeaderPolicy("backend-key").RunAsync(transaction);

        Assert.That(transaction.Request.BackendApiKey, Is.EqualTo("backend-key"));
    }

    [Test]
    public void AddApiKeyHeader_NoKey_Throws500()
    {
        var ex = Assert.ThrowsAsync<ControlFailureException>(async () => await new AddApiKeyHeaderPolicy(null).RunAsync(TestTransactions.ChatWithText("hi")));

        Assert.That(ex!.StatusCode, Is.EqualTo(500));
    }

    [Test]
    public async Task AddApiKeyHeaderFromEnv_VariableSet_SetsBackendKey()
    {
        var name = "LUTHIEN_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "env-key-value");
        try
        {
            var transaction = TestTransactions.ChatWithText("hi");

            await new AddApiKeyHeaderFromEnvPolicy(name).RunAsync(transaction);

            Assert.That(transaction.Request.BackendApiKey, Is.EqualTo("env-key-value"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Test]
    public void AddApiKeyHeaderFromEnv_VariableUnset_Throws500NamingVariable()
    {
        var name = "LUTHIEN_TEST_UNSET_" + Guid.NewGuid().ToString("N");

        var ex = Assert.ThrowsAsync<ControlFailureException>(async () => await new AddApiKeyHeaderFromEnvPolicy(name).RunAsync(TestTransactions.ChatWithText("hi")));

        Assert.That(ex!.StatusCode, Is.EqualTo(500));
        Assert.That(ex.Message, Does.Contain(name));
    }
}
