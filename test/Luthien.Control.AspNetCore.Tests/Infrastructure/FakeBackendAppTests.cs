namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Tests against one in-process app in front of one fake backend, both started once for the class and stopped after it;
/// the backend's handler and what it recorded are reset before each test.
/// </summary>
public abstract class FakeBackendAppTests
{
    /// <summary>The fake backend.</summary>
    private protected FakeBackend Backend { get; private set; } = null!;

    /// <summary>The app under test, configured by <see cref="Settings"/>.</summary>
    private protected LuthienAppFactory App { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartBackendAndAppAsync()
    {
        Backend = await FakeBackend.StartAsync();
        App = new LuthienAppFactory(Settings(Backend));
    }

    [OneTimeTearDown]
    public async Task StopBackendAndAppAsync()
    {
        await App.DisposeAsync();
        await Backend.DisposeAsync();
    }

    [SetUp]
    public void ResetBackend() => Backend.Reset();

    /// <summary>The app's configuration, once the backend listens.</summary>
    private protected abstract Dictionary<string, string?> Settings(FakeBackend backend);
}
