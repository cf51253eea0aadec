using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>Hosts the sample app in the test server with the given configuration.</summary>
internal sealed class LuthienAppFactory(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // The sample logs to an SQLite file by default; tests that want the audit log say so (and where).
        builder.UseSetting("Luthien:TransactionLog:Provider", "None");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.ClearProviders());
        if (configureServices is not null)
        {
            builder.ConfigureServices(configureServices);
        }
    }

    /// <summary>An official OpenAI client pointed at the app.</summary>
    public ChatClient CreateChatClient(string apiKey = "client-key-1", string model = "gpt-4o") =>
        new OpenAIClient(new ApiKeyCredential(apiKey), CreateClientOptions()).GetChatClient(model);

    public OpenAIClientOptions CreateClientOptions()
    {
        var http = CreateClient();
        return new OpenAIClientOptions
        {
            Endpoint = new Uri(http.BaseAddress!, "/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
        };
    }
}
