using System.Reflection;

namespace Luthien.Control.Readme.Tests;

/// <summary>Where the README and the snippets are: this project's folder as it was built.</summary>
internal static class RepositoryFiles
{
    public static string ProjectDirectory { get; } = typeof(RepositoryFiles).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ReadmeTestsProjectDirectory").Value!;

    public static string SnippetsDirectory => Path.Combine(ProjectDirectory, "Snippets");

    public static string Root => Path.GetFullPath(Path.Combine(ProjectDirectory, "..", ".."));

    public static string Readme => Path.Combine(Root, "README.md");

    public static string Snippet(string relativePath) => Path.Combine(SnippetsDirectory, relativePath);
}
