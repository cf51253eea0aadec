using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Leaves nothing of the test run behind on disk (a set-up fixture covers its namespace and those below).</summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public void DeletePolicyFiles() => PolicyFiles.DeleteAll();
}
