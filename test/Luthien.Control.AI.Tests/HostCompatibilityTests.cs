using System.ClientModel;
using System.ClientModel.Primitives;
using System.Reflection;
using Luthien.Control.AI.Tests.Infrastructure;
using Luthien.Control.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Luthien.Control.AI.Tests;

/// <summary>
/// A host on today's packages — Microsoft.Extensions.AI.OpenAI 10.11, which brings OpenAI 2.14, with Azure.AI.OpenAI
/// 2.1.0 the library references — builds and runs the HTTP endpoints, their <c>Client=Sdk</c> backend included (the
/// library is compiled against OpenAI 2.1.0), next to the in-process middleware, in one process.
/// </summary>
public sealed class HostCompatibilityTests
{
    [Test]
    public void Packages_ThisProject_RunsOnTodaysVersions()
    {
        Assert.That(typeof(OpenAIClient).Assembly.GetName().Version, Is.GreaterThanOrEqualTo(new Version(2, 14)));
        Assert.That(typeof(IChatClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion, Does.StartWith("10."));
    }

    [Test]
    public async Task Endpoints_SdkBackendOnTheHostsOpenAiVersion_Serve([Values] bool streaming, [Values("OpenAi", "Azure")] string style)
    {
        using var backend = new ScriptedOpenAi();
        if (streaming)
        {
            backend.Streams(Wire.Text("Hello", " from the model."));
        }
        else
        {
            backend.Answers(Wire.Completion("Hello from the model."));
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = style == "Azure" ? "http://backend.test/" : "http://backend.test/v1",
            ["Luthien:Backend:Style"] = style == "Azure" ? "Azure" : null,
            ["Luthien:Backend:ApiKey"] = "backend-key",
            ["Luthien:Backend:Client"] = "Sdk",
        });
        builder.Services.AddLuthienControl().UseBackendHandler(_ => backend);
        await using var app = builder.Build();
        app.MapLuthienControl("/v1");
        await app.StartAsync();

        // The app's own client: Microsoft.Extensions.AI over the OpenAI SDK of the host's version, at the endpoints.
        var client = new OpenAI.Chat.ChatClient("gpt-4o-mini", new ApiKeyCredential("client-key"), new OpenAIClientOptions
        {
            Endpoint = new Uri("http://localhost/v1"),
            Transport = new HttpClientPipelineTransport(app.GetTestClient()),
            RetryPolicy = new ClientRetryPolicy(0),
        }).AsIChatClient();
        var response = streaming
            ? await client.GetStreamingResponseAsync("Hi").ToChatResponseAsync()
            : await client.GetResponseAsync("Hi");

        Assert.That(response.Text, Is.EqualTo("Hello from the model."));
        Assert.That(backend.Requests, Has.Count.EqualTo(1));
    }
}
