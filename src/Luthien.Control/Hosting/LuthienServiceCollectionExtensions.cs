using System.ComponentModel.DataAnnotations;
using Luthien.Control;
using Luthien.Control.Streaming;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

// In DI's own namespace, as Microsoft.Extensions.AI's AddChatClient is: the call needs no using of its own.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Luthien.Control with dependency injection: the options (validated at start), the built-in policies, the
/// backend clients, the host steps and the audit log. The same registration serves every host: the ASP.NET Core
/// endpoints (<c>MapLuthienControl</c>, package Luthien.Control.AspNetCore) and the in-process
/// <c>IChatClient</c> middleware (<c>UseLuthienControl</c>, package Luthien.Control.AI).
/// </summary>
public static class LuthienServiceCollectionExtensions
{
    /// <summary>The configuration section the parameterless overload binds.</summary>
    private const string SectionName = "Luthien";

    /// <summary>
    /// Adds Luthien.Control with its options bound from the <c>Luthien</c> section of the application's registered
    /// <see cref="IConfiguration"/> (unknown keys rejected at start). Without a registered configuration the options
    /// keep their defaults.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns>A builder to register your own policies and tune the backend client.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl();   // reads Luthien:* from appsettings.json, environment, command line
    /// </code>
    /// </example>
    public static LuthienControlBuilder AddLuthienControl(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddLuthienControl(_ => { });
        services.AddOptions<LuthienOptions>().Configure<IServiceProvider>((options, provider) =>
        {
            if (provider.GetService<IConfiguration>() is { } configuration)
            {
                LuthienConfigurationBinder.Bind(configuration.GetSection(SectionName), options);
            }
        });

        // What OptionsBuilder.Bind registers for a configuration given up front: without it a reloaded appsettings.json
        // never reaches IOptionsMonitor, which the endpoints read per request.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<LuthienOptions>, RegisteredConfigurationChangeTokenSource>());
        return builder;
    }

    /// <summary>
    /// Adds Luthien.Control, its options bound from <paramref name="configuration"/> (the <c>Luthien</c> section) and
    /// validated at start, the built-in policies, and the backend clients.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The <c>Luthien</c> configuration section.</param>
    /// <returns>A builder to register your own policies and tune the backend client.</returns>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddPolicy&lt;MyAuditPolicy&gt;("MyAuditPolicy");
    /// var app = builder.Build();
    /// app.MapLuthienControl("/v1");
    /// </code>
    /// </example>
    public static LuthienControlBuilder AddLuthienControl(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddLuthienControl(_ => { });
        services.AddOptions<LuthienOptions>().Configure(options => LuthienConfigurationBinder.Bind(configuration, options));

        // What OptionsBuilder.Bind would register: a reloaded configuration reaches IOptionsMonitor.
        services.AddSingleton<IOptionsChangeTokenSource<LuthienOptions>>(new ConfigurationChangeTokenSource<LuthienOptions>(configuration));
        return builder;
    }

    /// <summary>Adds Luthien.Control with options set in code.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>A builder to register your own policies and tune the backend client.</returns>
    public static LuthienControlBuilder AddLuthienControl(this IServiceCollection services, Action<LuthienOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<LuthienOptions>()
            .Configure(configure)
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(o.Backend.ApiKey))
                {
                    o.Backend.ApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LuthienOptions>, LuthienOptionsValidator>());

        // Read per request: a bad change to the configuration keeps the options in force (and says why) rather than
        // making every request fail until it is fixed.
        services.TryAddSingleton<IOptionsMonitor<LuthienOptions>, LastGoodOptionsMonitor>();

        // A host registers these already (TryAdd inside): an app that builds its services by hand gets them too.
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IStreamingResponseReader, RawSseStreamingResponseReader>();
        services.TryAddSingleton(sp => new BackendHttp(sp.GetService<BackendHandlerFactory>()?.Create(sp)));
        services.TryAddSingleton(sp => new HttpBackendClient(
            sp.GetRequiredService<BackendHttp>(),
            sp.GetRequiredService<IOptionsMonitor<LuthienOptions>>(),
            sp.GetRequiredService<IStreamingResponseReader>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<HttpBackendClient>>()));
        services.TryAddSingleton(sp => new SdkBackendClient(
            sp.GetRequiredService<HttpBackendClient>(),
            sp.GetRequiredService<BackendHttp>(),
            sp.GetRequiredService<IOptionsMonitor<LuthienOptions>>(),
            sp.GetRequiredService<IStreamingResponseReader>(),
            sp.GetRequiredService<TimeProvider>(),
            sp,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SdkBackendClient>>()));
        services.TryAddSingleton<IBackendClient>(sp => sp.GetRequiredService<IOptions<LuthienOptions>>().Value.Backend.Client == BackendClientKind.Sdk
            ? sp.GetRequiredService<SdkBackendClient>()
            : sp.GetRequiredService<HttpBackendClient>());
        services.TryAddSingleton(sp =>
        {
            var registry = new PolicyRegistry().AddBuiltInPolicies().AddStreamingPolicies();
            foreach (var registration in sp.GetServices<PolicyRegistration>())
            {
                registration.Configure(registry);
            }

            return registry;
        });
        services.TryAddSingleton<RootPolicyProvider>();
        services.TryAddSingleton<LuthienEndpointsMarker>();

        // The audit log and the database's client keys: inert (no queue, no store) while the provider is None.
        services.TryAddSingleton<ControlStores>();
        services.TryAddSingleton<ClientKeyCache>();
        services.TryAddSingleton(sp =>
        {
            // Taken now, not when the first batch is written: that may be while the services are being disposed (an
            // app without a host, whose dispose writes the queue).
            var root = sp.GetRequiredService<RootPolicyProvider>();
            var backendKey = sp.GetRequiredService<IOptions<LuthienOptions>>().Value.Backend.ApiKey;
            string[] hostSecrets = backendKey is { Length: > 0 } ? [System.Text.RegularExpressions.Regex.Escape(backendKey)] : [];

            // A mask per root: a reloaded policy file's new keys and patterns are masked from its first transaction on.
            return new AuditMaskSource(r => AuditMask.For(r, hostSecrets), () => root.Root);
        });
        services.TryAddSingleton(sp => new TransactionLogWriter(
            sp.GetRequiredService<ControlStores>().Store,
            sp.GetRequiredService<AuditMaskSource>(),
            sp.GetRequiredService<IOptions<LuthienOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<TransactionLogWriter>>(),
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddHostedService(sp => sp.GetRequiredService<TransactionLogWriter>());
        services.AddMetrics();
        services.TryAddSingleton<LuthienMetrics>();
        services.TryAddSingleton<TelemetryStep>();
        services.TryAddSingleton<UsageStep>();
        services.TryAddSingleton<HostPipeline>();
        services.AddHostedService<LuthienStartupValidator>();
        HostIntegrations.Register(services);

        return new LuthienControlBuilder(services);
    }

    /// <summary>The change token of the registered configuration's <c>Luthien</c> section (none without a configuration).</summary>
    private sealed class RegisteredConfigurationChangeTokenSource(IServiceProvider services) : IOptionsChangeTokenSource<LuthienOptions>
    {
        public string? Name => Microsoft.Extensions.Options.Options.DefaultName;

        public IChangeToken GetChangeToken() =>
            services.GetService<IConfiguration>()?.GetSection(SectionName).GetReloadToken() ?? NeverChanges.Instance;

        private sealed class NeverChanges : IChangeToken
        {
            public static readonly NeverChanges Instance = new();

            public bool HasChanged => false;

            public bool ActiveChangeCallbacks => false;

            public IDisposable RegisterChangeCallback(Action<object?> callback, object? state) => EmptyDisposable.Instance;
        }

        private sealed class EmptyDisposable : IDisposable
        {
            public static readonly EmptyDisposable Instance = new();

            public void Dispose()
            {
            }
        }
    }

    private sealed class LuthienOptionsValidator(IEnumerable<ControlStoreRegistration> stores, ILoggerFactory? loggerFactory = null) : IValidateOptions<LuthienOptions>
    {
        private static readonly Action<ILogger, Exception?> LogPassthroughAllowsAll = LoggerMessage.Define(
            LogLevel.Warning,
            new EventId(1, "PassthroughAllowsAll"),
            "Luthien:Passthrough:Allow is \"*\": every path under the route prefix except the policed ones is forwarded to the backend, with its key. List the routes your clients need instead.");

        public ValidateOptionsResult Validate(string? name, LuthienOptions options)
        {
            var failures = new List<string>();
            foreach (var (section, value) in new object[] { options.Limits, options.Timeouts, options.Streaming, options.TransactionLog, options.Admin }.Select(v => (v.GetType().Name.Replace("Options", string.Empty, StringComparison.Ordinal), v)))
            {
                var results = new List<ValidationResult>();
                if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
                {
                    failures.AddRange(results.Select(r => $"Luthien:{section}: {r.ErrorMessage}"));
                }
            }

            if (options.Backend.BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
            {
                failures.Add($"Luthien:Backend:BaseUrl must be an absolute http or https URL, e.g. http://127.0.0.1:6590/v1 (got '{url}').");
            }
            else if (options.Backend.BaseUrl is { } baseUrl && BackendStyles.Resolve(baseUrl, options.Backend.Style) == BackendStyle.Azure &&
                BackendStyles.CheckAzureBaseUrl(baseUrl) is { } azureProblem)
            {
                failures.Add($"Luthien:Backend:BaseUrl is called in Azure style (Luthien:Backend:Style {options.Backend.Style}), but {azureProblem}.");
            }

            if (ControlStores.Check(options.TransactionLog, stores) is { } storeProblem)
            {
                failures.Add(storeProblem);
            }

            if (options.Backend.ApiVersion is { } apiVersion && !BackendStyles.IsApiVersion(apiVersion))
            {
                failures.Add($"Luthien:Backend:ApiVersion must be a plain version such as {BackendOptions.DefaultAzureApiVersion} or 2025-04-01-preview (got '{apiVersion}').");
            }

            // Parsed here so that a bad entry stops the app at start; the request handler parses the same list again.
            var allow = PassthroughAllowList.TryParse(options.Passthrough.Allow, failures);
            if (allow is { AllowsAll: true } && loggerFactory is not null)
            {
                LogPassthroughAllowsAll(loggerFactory.CreateLogger("Luthien.Control.AspNetCore.Passthrough"), null);
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
