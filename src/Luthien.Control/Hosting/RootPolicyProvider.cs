using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Luthien.Control.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control;

/// <summary>
/// The root policy: a policy built in code, the policy file, or the default chain, built on first use (at start, by
/// <see cref="LuthienStartupValidator"/>). A policy file is watched and loaded again when it changes
/// (<see cref="LuthienOptions.ReloadPolicyFile"/>), and so is a new <c>Luthien:PolicyFile</c> that a configuration
/// reload brings.
/// </summary>
/// <remarks>
/// <para>
/// A changed file goes through <see cref="LoadAndCheck"/>, as at start; only a file that passes replaces the chain in
/// force, and a file that does not leaves it and is said in the log (a warning naming the policy, its place and the
/// field). Each transaction reads <see cref="Root"/> once, when it starts, and runs on that chain to its end: a stream
/// never changes chains midway.
/// </para>
/// <para>
/// A replaced chain is not disposed: a transaction that started on it may still be streaming, and none of the built-in
/// policies holds anything to release (what they share — the backend clients, the database's key cache — are the
/// container's singletons, used by the new chain too). It goes when the last transaction using it lets go of it. A
/// policy of your own that owns a resource should take it from the container, which disposes it at shutdown.
/// </para>
/// </remarks>
internal sealed partial class RootPolicyProvider : IDisposable
{
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<LuthienOptions> _options;
    private readonly PolicyRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Taken while building or reloading; Root's readers never take it once a root exists.
    private readonly Lock _gate = new();
    private volatile ControlPolicy? _root;

    // The file in force (or, after a new Luthien:PolicyFile that did not load, the one that will be tried next) and
    // what was read of it: a look that reads the same bytes again changes nothing and says nothing.
    private string? _path;
    private byte[]? _loadedHash;
    private byte[]? _rejectedHash;
    private bool _missingSaid;
    private PolicyFileWatcher? _watcher;
    private IDisposable? _optionsSubscription;
    private bool _disposed;

    /// <summary>Creates the provider; nothing is built or watched until the root is first asked for.</summary>
    public RootPolicyProvider(IServiceProvider services, IOptionsMonitor<LuthienOptions> options, PolicyRegistry registry, ILogger<RootPolicyProvider> logger, TimeProvider? time = null)
    {
        _services = services;
        _options = options;
        _registry = registry;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The root policy in force; a transaction reads it once, when it starts.</summary>
    public ControlPolicy Root => _root ?? Build();

    /// <summary>What made the root in force, as check messages start (<c>Policy file '…'</c>, …); set once it is built.</summary>
    public string? Source { get; private set; }

    /// <summary>
    /// The endpoints are mapped: the root's paths to <c>SendBackendRequest</c> now need a backend URL. Checked again here
    /// when the root was built before (a host that maps its endpoints while starting).
    /// </summary>
    /// <exception cref="PolicyLoadException">The backend has no URL on some path.</exception>
    public void EndpointsMapped()
    {
        _services.GetRequiredService<LuthienEndpointsMarker>().Mapped = true;
        if (_root is { } root)
        {
            RootPolicyChecks.Check(root, Source!, _services);
        }
    }

    /// <summary>Raised after a reload has put a new root in force (for tests; called on the reload's thread).</summary>
    internal event Action<ControlPolicy>? Reloaded;

    /// <summary>Whether policy-file reload is on and in place (a file was loaded and is watched).</summary>
    internal bool IsWatching => _watcher is not null;

    /// <summary>How long the file's folder must be quiet before a changed file is read (tests make it shorter).</summary>
    internal TimeSpan Debounce { get; set; } = PolicyFileWatcher.DefaultDebounce;

    /// <summary>Poll the file instead of waiting for file events (default: <c>DOTNET_USE_POLLING_FILE_WATCHER</c>).</summary>
    internal bool Polling { get; set; } = PolicyFileWatcher.PollingRequested();

    /// <summary>
    /// The one place a policy file's text becomes a root policy, at start and at every reload: it is loaded (every policy
    /// built and its config checked) and the chain is checked as a whole. A root that comes back is ready to serve.
    /// </summary>
    /// <param name="path">The file's full path, for messages.</param>
    /// <param name="json">The file's text.</param>
    /// <returns>The root policy.</returns>
    /// <exception cref="PolicyLoadException">
    /// The file does not load or does not pass; the message names the file, the policy, its place and the field, and
    /// never a value of the file that may be a secret (a client key, say): those are masked, and no inner exception is
    /// kept, whose message might repeat them.
    /// </exception>
    internal ControlPolicy LoadAndCheck(string path, string json)
    {
        ControlPolicy root;
        try
        {
            root = new PolicyLoader(_registry, _services).LoadJson(json);
        }
        catch (PolicyLoadException ex)
        {
            throw new PolicyLoadException(PolicyFileSecrets.Mask($"{FileSource(path)}: {ex.Message}", json));
        }

        try
        {
            // The chain as a whole, after the load: start and reload hold a file to the same rules.
            RootPolicyChecks.Check(root, FileSource(path), _services);
        }
        catch (PolicyLoadException ex)
        {
            // The message starts with the source already; branch places can quote a condition's JSON, so it is masked too.
            throw new PolicyLoadException(PolicyFileSecrets.Mask(ex.Message, json));
        }

        return root;
    }

    /// <summary>Stops watching; the root in force stays.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _watcher?.Dispose();
            _watcher = null;
            _optionsSubscription?.Dispose();
            _optionsSubscription = null;
        }
    }

    private ControlPolicy Build()
    {
        lock (_gate)
        {
            if (_root is { } built)
            {
                return built;
            }

            var options = _options.CurrentValue;
            if (_services.GetService<RootPolicyFactory>() is { } factory)
            {
                // Built in code: there is no file to follow.
                const string InCode = "The policy built in code";
                LogSource(_logger, "code");
                if (!string.IsNullOrWhiteSpace(options.PolicyFile))
                {
                    // Both are set: the file would look in force to whoever edits it, and it is not.
                    LogPolicyFileNotUsed(_logger, options.PolicyFile);
                }

                ControlPolicy inCode;
                try
                {
                    inCode = factory.Create(_services) ?? throw new PolicyLoadException("The root policy factory (UsePolicy) returned no policy.");
                }
                catch (PolicyLoadException ex)
                {
                    throw new PolicyLoadException($"{InCode}: {ex.Message}", ex);
                }

                RootPolicyChecks.Check(inCode, InCode, _services);
                Source = InCode;
                return _root = inCode;
            }

            ControlPolicy root;
            if (!string.IsNullOrWhiteSpace(options.PolicyFile))
            {
                var path = ResolvePath(options.PolicyFile);
                var bytes = ReadAtStart(path, options.PolicyFile);
                root = LoadAndCheck(path, Decode(bytes));
                Source = FileSource(path);
                _path = path;
                _loadedHash = SHA256.HashData(bytes);
                LogPolicyFile(_logger, path);
            }
            else
            {
                const string Default = "The default chain (no Luthien:PolicyFile)";
                LogSource(_logger, "default chain (TransactionContextLoggingPolicy, SendBackendRequest)");
                root = DefaultChain(options);
                RootPolicyChecks.Check(root, Default, _services);
                Source = Default;
            }

            _root = root;
            if (options.ReloadPolicyFile && !_disposed)
            {
                if (_path is not null)
                {
                    Watch(_path);

                    // The file was read before it was watched: a write in between (a deploy while the app starts) sends
                    // no event, so it is looked at once more; the same bytes change nothing. A polled file is looked at anyway.
                    if (!_watcher!.IsPolling)
                    {
                        _watcher.Touched();
                    }
                }

                _optionsSubscription = _options.OnChange((changed, name) =>
                {
                    if (name is null || name == Microsoft.Extensions.Options.Options.DefaultName)
                    {
                        OptionsChanged(changed);
                    }
                });
            }

            return root;
        }
    }

    private SerialPolicy DefaultChain(LuthienOptions options) => new(
    [
        new TransactionContextLoggingPolicy(_services.GetRequiredService<ILogger<TransactionContextLoggingPolicy>>(), LogLevel.Information, _services.GetService<TimeProvider>())
        {
            MaxHeldChunks = options.Limits.MaxHeldChunks,
            MaxHeldBytes = options.Limits.MaxPendingBytes,
        },
        new SendBackendRequestPolicy(_services.GetRequiredService<IBackendClient>()),
    ]) { Name = "default" };

    private static string FileSource(string path) => $"Policy file '{path}'";

    private byte[] ReadAtStart(string path, string configured)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new PolicyLoadException($"Policy file '{path}' does not exist: {WhereToPut(path, configured)}", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new PolicyLoadException($"Policy file '{path}' could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Where the missing file was looked for, so the fix is clear: the two folders of a relative path, or the build's
    /// output folder (the in-process way, <c>AppContext.BaseDirectory</c>), which only has the file if the build copies it.
    /// </summary>
    private string WhereToPut(string path, string configured)
    {
        if (!Path.IsPathRooted(configured))
        {
            var contentRoot = _services.GetService<IHostEnvironment>()?.ContentRootPath;
            return $"the relative path '{configured}' is read against the working directory ({Directory.GetCurrentDirectory()})" +
                (contentRoot is null ? "." : $", else the content root ({contentRoot}).") + " Put the file there, or give an absolute path.";
        }

        var output = AppContext.BaseDirectory;
        return path.StartsWith(output, StringComparison.Ordinal)
            ? $"it is in the app's output folder, where the build copies only what it is told to: add <None Update=\"{Path.GetFileName(path)}\" CopyToOutputDirectory=\"PreserveNewest\" /> to the project file (with the file beside it), or give another path."
            : "create it, or correct the path.";
    }

    /// <summary>The file's text, its encoding told by its byte-order mark (UTF-8 without one), as <see cref="File.ReadAllText(string)"/> does.</summary>
    private static string Decode(byte[] bytes)
    {
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    /// <summary>A relative path is tried against the working directory first, then the content root.</summary>
    private string ResolvePath(string path)
    {
        var contentRoot = _services.GetService<IHostEnvironment>()?.ContentRootPath;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien.Control root policy: the chain is built in code (UsePolicies or UsePolicy), so the policy file '{PolicyFile}' (Luthien:PolicyFile or UsePolicyFile) is not used, nor watched. Remove one of the two.")]
    private static partial void LogPolicyFileNotUsed(ILogger logger, string policyFile);
}
