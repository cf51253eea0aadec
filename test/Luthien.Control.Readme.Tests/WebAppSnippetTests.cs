using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.Readme.Tests;

/// <summary>
/// README's web app (Snippets/WebApp: Program.cs, appsettings.json, policies.json, MaxTokensCapPolicy.cs,
/// DisclaimerPolicy.cs) hosted as written, its BaseUrl alone pointed at a backend on loopback.
/// </summary>
public class WebAppSnippetTests
{
    private LoopbackBackend _backend = null!;
    private WebApplicationFactory<MaxTokensCapPolicy> _app = null!;
    private string _workingDirectory = "";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await LoopbackBackend.StartAsync("Hello", " there");

        // As under `dotnet run`: the app's folder is the working directory (a relative PolicyFile is read from there first).
        _workingDirectory = Environment.CurrentDirectory;
        Environment.CurrentDirectory = RepositoryFiles.Snippet("WebApp");
        _app = new WebApplicationFactory<MaxTokensCapPolicy>().WithWebHostBuilder(builder =>
        {
            // The snippet's folder is the app's content root: its appsettings.json and the policies.json it names.
            builder.UseContentRoot(RepositoryFiles.Snippet("WebApp"));
            builder.UseSetting("Luthien:Backend:BaseUrl", _backend.BaseUrl);
            builder.ConfigureLogging(logging => logging.ClearProviders());
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
        Environment.CurrentDirectory = _workingDirectory;
    }

    [Test]
    public async Task StreamedChat_ThroughReadmeApp_CapsTokensAndAddsDisclaimerBeforeDone()
    {
        using var client = _app.CreateClient();
        using var request = new StringContent(
            """{"model":"gpt-4o-mini","max_completion_tokens":4000,"stream":true,"messages":[{"role":"user","content":"hi"}]}""",
            Encoding.UTF8,
            "application/json");

        using var response = await client.PostAsync(new Uri("/v1/chat/completions", UriKind.Relative), request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(events, Has.All.StartWith("data: "), body);
        Assert.That(body, Does.EndWith("data: [DONE]\n\n"));
        var text = string.Concat(events.SkipLast(1)
            .Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray())
            .SelectMany(choices => choices)
            .Select(choice => (string?)choice!["delta"]?["content"]));
        Assert.That(text, Is.EqualTo("Hello there (AI-generated)"), "the Disclaimer policy of policies.json");

        var sent = JsonNode.Parse(_backend.Bodies.Last())!;
        Assert.That(sent["max_completion_tokens"]!.GetValue<int>(), Is.EqualTo(512), "the MaxTokensCap policy of policies.json");
    }
}
