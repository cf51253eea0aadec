using Luthien.Control.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>Builds the root policy once: a policy built in code, the policy file, or the default chain.</summary>
internal sealed partial class RootPolicyProvider
{
    private readonly IServiceProvider _services;
    private readonly Lazy<ControlPolicy> _root;

    public RootPolicyProvider(IServiceProvider services, IOptions<LuthienOptions> options, PolicyRegistry registry, ILogger<RootPolicyProvider> logger)
    {
        _services = services;
        _root = new(() =>
        {
            var (root, source) = Build(services, options.Value, registry, logger);
            Source = source;
            RootPolicyChecks.Check(root, source, services);
            return root;
        });
    }

    public ControlPolicy Root => _root.Value;

    /// <summary>What made the root, as check messages start (<c>Policy file '…'</c>, …); set once it is built.</summary>
    public string? Source { get; private set; }

    /// <summary>
    /// The endpoints are mapped: the root's paths to <c>SendBackendRequest</c> now need a backend URL. Checked again here
    /// when the root was built before (a host that maps its endpoints while starting).
    /// </summary>
    /// <exception cref="PolicyLoadException">The backend has no URL on some path.</exception>
    public void EndpointsMapped()
    {
        _services.GetRequiredService<LuthienEndpointsMarker>().Mapped = true;
        if (_root.IsValueCreated)
        {
            RootPolicyChecks.Check(_root.Value, Source!, _services);
        }
    }

    private static (ControlPolicy Root, string Source) Build(IServiceProvider services, LuthienOptions options, PolicyRegistry registry, ILogger logger)
    {
        if (services.GetService<RootPolicyFactory>() is { } factory)
        {
            LogSource(logger, "code");
            const string InCode = "The policy built in code";
            try
            {
                return (factory.Create(services) ?? throw new PolicyLoadException("The root policy factory (UsePolicy) returned no policy."), InCode);
            }
            catch (PolicyLoadException ex)
            {
                throw new PolicyLoadException($"{InCode}: {ex.Message}", ex);
            }
        }

        if (!string.IsNullOrWhiteSpace(options.PolicyFile))
        {
            var path = ResolvePath(options.PolicyFile, services.GetService<IHostEnvironment>()?.ContentRootPath);
            var policy = new PolicyLoader(registry, services).LoadFile(path);
            LogPolicyFile(logger, path);
            return (policy, $"Policy file '{path}'");
        }

        LogSource(logger, "default chain (TransactionContextLoggingPolicy, SendBackendRequest)");
        return (new SerialPolicy(
        [
            new TransactionContextLoggingPolicy(services.GetRequiredService<ILogger<TransactionContextLoggingPolicy>>(), LogLevel.Information, services.GetService<TimeProvider>())
            {
                MaxHeldChunks = options.Limits.MaxHeldChunks,
                MaxHeldBytes = options.Limits.MaxPendingBytes,
            },
            new SendBackendRequestPolicy(services.GetRequiredService<IBackendClient>()),
        ]) { Name = "default" }, "The default chain (no Luthien:PolicyFile)");
    }

    /// <summary>A relative path is tried against the working directory first, then the content root.</summary>
    private static string ResolvePath(string path, string? contentRoot)
    {
        if (Path.IsPathRooted(path) || File.Exists(path) || contentRoot is null)
        {
            return Path.GetFullPath(path);
        }

        var underRoot = Path.Combine(contentRoot, path);
        return File.Exists(underRoot) ? underRoot : Path.GetFullPath(path);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Luthien.Control root policy: policy file {Path}.")]
    private static partial void LogPolicyFile(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Luthien.Control root policy: {Source}.")]
    private static partial void LogSource(ILogger logger, string source);
}

/// <summary>
/// Builds the root policy at start, so that a bad policy file stops the app before it takes traffic, and says once how
/// the backend will be called where that is not plain (the SDK client's reach, an Azure backend without a key).
/// </summary>
internal sealed partial class LuthienStartupValidator(
    RootPolicyProvider provider,
    IOptions<LuthienOptions> options,
    IServiceProvider services,
    ILogger<LuthienStartupValidator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = provider.Root;
        var backend = options.Value.Backend;
        if (backend.Client == BackendClientKind.Sdk)
        {
            LogSdkReach(logger);
            if (backend.BaseUrl is { } url && BackendStyles.Resolve(url, backend.Style) == BackendStyle.Azure &&
                string.IsNullOrEmpty(backend.ApiKey) && services.GetService<Azure.AI.OpenAI.AzureOpenAIClient>() is null)
            {
                // Not a start failure: a policy (AddApiKeyHeader, AddApiKeyHeaderFromEnv) may give each request its key.
                LogAzureWithoutKey(logger, SdkBackendClient.NoAzureKeyMessage);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Luthien:Backend:Client is Sdk: chat completions go through the OpenAI / Azure.AI.OpenAI client; Responses, legacy completions and pass-through requests go to the same backend as raw HTTP (the SDK has no protocol method for them).")]
    private static partial void LogSdkReach(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Message} Until a request brings one, chat completions to it fail with 502 backend_unavailable.")]
    private static partial void LogAzureWithoutKey(ILogger logger, string message);
}
