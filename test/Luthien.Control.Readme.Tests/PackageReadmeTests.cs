using System.Text.RegularExpressions;

namespace Luthien.Control.Readme.Tests;

/// <summary>
/// Each package's own README (src/&lt;Project&gt;/README.md, packed as the package's readme): nuget.org shows it alone, so it
/// says how to install and use that package and leans on nothing beside it.
/// </summary>
public partial class PackageReadmeTests
{
    private static IEnumerable<string> Packages() =>
        Directory.EnumerateFiles(Path.Combine(RepositoryFiles.Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(Path.GetFileNameWithoutExtension)
            .Order(StringComparer.Ordinal)!;

    private static string ReadmeOf(string package) => Path.Combine(RepositoryFiles.Root, "src", package, "README.md");

    [TestCaseSource(nameof(Packages))]
    public void PackageReadme_Exists_AndSaysHowToInstallThatPackage(string package)
    {
        Assert.That(ReadmeOf(package), Does.Exist);
        var text = File.ReadAllText(ReadmeOf(package));

        Assert.That(text, Does.StartWith($"# {package}\n"));
        Assert.That(text, Does.Contain($"dotnet add package {package}\n"));
    }

    [TestCaseSource(nameof(Packages))]
    public void PackageReadme_NoLinksOrRepositoryPaths(string package)
    {
        var text = File.ReadAllText(ReadmeOf(package));

        // A link or a path into the repository would be dead on the package's page.
        Assert.That(MarkdownLink().Matches(text).Select(m => m.Value), Is.Empty);
        Assert.That(text, Does.Not.Contain("](").And.Not.Contain("samples/").And.Not.Contain("../"));
    }

    [GeneratedRegex(@"\[[^\]]*\]\([^)]*\)|<https?://[^>]*>")]
    private static partial Regex MarkdownLink();
}
