namespace Luthien.Control.Readme.Tests;

/// <summary>
/// Every ```csharp and ```json block of README.md is, line for line, a snippet that is compiled (Snippets/, one new app per
/// folder) and exercised by the tests beside this one; and every snippet is in the README. How to add one: README.md here.
/// </summary>
public class ReadmeSnippetTests
{
    private static (IReadOnlyList<CodeText> Checked, IReadOnlyList<CodeText> Excluded) ReadmeBlocksOfRepository() =>
        ReadmeBlocks.ReadMarkdown(File.ReadAllText(RepositoryFiles.Readme), "README.md");

    [Test]
    public void Readme_EveryCodeBlock_IsACompiledSnippet()
    {
        var blocks = ReadmeBlocksOfRepository().Checked;
        var snippets = ReadmeBlocks.ReadSnippets(RepositoryFiles.SnippetsDirectory);

        Assert.That(blocks, Is.Not.Empty, "README.md has no ```csharp or ```json block: is this the right file?");
        Assert.That(ReadmeBlocks.Unmatched(blocks, snippets, "snippet under test/Luthien.Control.Readme.Tests/Snippets"), Is.Empty);
    }

    [Test]
    public void Snippets_EverySnippet_IsInTheReadme()
    {
        var blocks = ReadmeBlocksOfRepository().Checked;
        var snippets = ReadmeBlocks.ReadSnippets(RepositoryFiles.SnippetsDirectory);

        Assert.That(snippets, Is.Not.Empty);
        Assert.That(ReadmeBlocks.Unmatched(snippets, blocks, "block in README.md"), Is.Empty);
    }

    [Test]
    public void Readme_ExcludedBlocks_AreFew()
    {
        // An exclusion is for a block that is deliberately not code to compile; each one is a place the README can drift.
        Assert.That(ReadmeBlocksOfRepository().Excluded, Has.Count.LessThanOrEqualTo(2));
    }
}

/// <summary>The comparison itself, on made-up texts.</summary>
public class ReadmeBlocksTests
{
    private const string Markdown = """
        Intro.

        ```csharp
        var a = 1;
        var b = 2;
        ```

        ```bash
        dotnet test
        ```

        <!-- snippet: none (a shape, not a file) -->
        ```json
        { "type": … }
        ```
        """;

    [Test]
    public void ReadMarkdown_CsharpBashAndMarkedJson_ChecksOnlyTheCsharp()
    {
        var (included, excluded) = ReadmeBlocks.ReadMarkdown(Markdown, "README.md");

        Assert.That(included.Select(b => b.Origin), Is.EqualTo(new[] { "README.md:3 (```csharp)" }));
        Assert.That(included[0].Lines, Is.EqualTo(new[] { "var a = 1;", "var b = 2;" }));
        Assert.That(excluded.Select(b => b.Origin), Is.EqualTo(new[] { "README.md:13 (```json)" }));
    }

    [Test]
    public void ReadSnippetFile_MarkedRegion_IsDedentedRegionOnly()
    {
        var file = """
            class C
            {
                void M()
                {
                    // <snippet:two-lines>
                    var a = 1;
                        var b = 2;
                    // </snippet:two-lines>
                }
            }
            """;

        var snippets = ReadmeBlocks.ReadSnippetFile(file, "Snippets/C.cs");

        Assert.That(snippets.Single().Lines, Is.EqualTo(new[] { "var a = 1;", "    var b = 2;" }));
        Assert.That(snippets.Single().Origin, Is.EqualTo("Snippets/C.cs (snippet two-lines)"));
    }

    [Test]
    public void ReadSnippetFile_NoMarkers_IsWholeFile()
    {
        var snippets = ReadmeBlocks.ReadSnippetFile("{ \"a\": 1 }\n", "Snippets/a.json");

        Assert.That(snippets.Single().Lines, Is.EqualTo(new[] { "{ \"a\": 1 }" }));
    }

    [Test]
    public void ReadSnippetFile_UnclosedMarker_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => ReadmeBlocks.ReadSnippetFile("// <snippet:x>\nvar a = 1;\n", "Snippets/C.cs"));
    }

    [Test]
    public void Unmatched_OneLineDiffers_NamesBlockNearestSnippetAndLine()
    {
        var block = new CodeText("README.md:3 (```csharp)", ["var a = 1;", "var b = 2;", "var c = 3;"]);
        var near = new CodeText("Snippets/Near.cs", ["var a = 1;", "var b = 20;", "var c = 3;"]);
        var far = new CodeText("Snippets/Far.cs", ["other"]);

        var message = ReadmeBlocks.Unmatched([block], [far, near], "snippet");

        Assert.That(message, Does.Contain("README.md:3 (```csharp): no identical snippet; nearest Snippets/Near.cs"));
        Assert.That(message, Does.Contain("line 2 of the block: README.md:3 (```csharp) has `var b = 2;`, Snippets/Near.cs has `var b = 20;`"));
    }

    [Test]
    public void Unmatched_IdenticalCounterpart_IsEmpty()
    {
        var block = new CodeText("README.md:3 (```json)", ["{}"]);

        Assert.That(ReadmeBlocks.Unmatched([block], [new CodeText("Snippets/a.json", ["{}"])], "snippet"), Is.Empty);
    }
}
