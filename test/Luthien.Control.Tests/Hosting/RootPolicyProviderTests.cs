using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Luthien.Control.Tests.Hosting;

/// <summary>The policy file is followed: a good change serves the next transaction, a bad one keeps the chain in force.</summary>
public sealed class RootPolicyProviderTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    private string _folder = null!;
    private LogSink _log = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = Directory.CreateTempSubdirectory("luthien-reload-").FullName;
        _log = new LogSink();
    }

    [TearDown]
    public void RemoveFolder()
    {
        _log.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string Chain(string name, string model = "m") => $$"""
        { "type": "SerialPolicy", "config": { "name": "{{name}}", "policies": [
          { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "{{model}}" } } },
          { "type": "SendBackendRequest", "config": {} }
        ] } }
        """;

    /// <summary>A container whose options come from configuration a test can change and reload.</summary>
    private (IConfigurationRoot Configuration, ServiceProvider Services) FromConfiguration(string? policyFile)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = "http://127.0.0.1:6301/v1",
            ["Luthien:PolicyFile"] = policyFile,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(_log));
        services.AddLuthienControl(configuration.GetSection("Luthien"));
        return (configuration, services.BuildServiceProvider());
    }

    private string Write(string json, string name = "policy.json")
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, json);
        return path;
    }

    private ServiceProvider Build(Action<LuthienOptions> configure, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(_log).SetMinimumLevel(LogLevel.Debug));
        services.AddLuthienControl(o =>
        {
            o.Backend.BaseUrl = new Uri("http://127.0.0.1:6301/v1");
            configure(o);
        });
        more?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Waits for the provider's next reload (or fails after a generous time).</summary>
    private static Task<ControlPolicy> NextReload(RootPolicyProvider provider)
    {
        var reloaded = new TaskCompletionSource<ControlPolicy>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.Reloaded += root => reloaded.TrySetResult(root);
        return reloaded.Task.WaitAsync(Generous);
    }

    [Test]
    public async Task Root_FileChangedToGoodChain_NextReadGetsNewChainAndInformationLogged()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;
        var reload = NextReload(provider);

        File.WriteAllText(path, Chain("second"));
        var after = await reload;

        Assert.That(before.Name, Is.EqualTo("first"));
        Assert.That(after.Name, Is.EqualTo("second"));
        Assert.That(provider.Root, Is.SameAs(after));
        Assert.That(_log.Entries, Has.Some.Matches<(LogLevel Level, string Message)>(e => e.Level == LogLevel.Information && e.Message.Contains("reloaded", StringComparison.Ordinal) && e.Message.Contains(path, StringComparison.Ordinal)));
    }

    [Test]
    public async Task Root_FileReplacedByRename_NewChainLoaded()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        _ = provider.Root;
        var reload = NextReload(provider);

        // How vim and many editors save: a new file, renamed over the old one.
        var temporary = Write(Chain("renamed"), "policy.json.tmp");
        File.Move(temporary, path, overwrite: true);

        Assert.That((await reload).Name, Is.EqualTo("renamed"));
    }

    [Test]
    public async Task Root_FileChangedToBadChain_KeepsChainAndWarnsNamingPolicyAndField()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;

        File.WriteAllText(path, """
            { "type": "SerialPolicy", "config": { "name": "bad", "policies": [
              { "type": "ModelNameReplacement", "config": { "model_mappin": {} } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        var warning = await _log.WaitForAsync(e => e.Level == LogLevel.Warning, Generous);

        Assert.That(provider.Root, Is.SameAs(before));
        Assert.That(warning.Message, Does.Contain("ModelNameReplacement").And.Contain("$.config.policies[0]").And.Contain("model_mappin").And.Contain(path));
    }

    [Test]
    public async Task Root_FileChangedToAChainThatNeverAnswers_KeepsChainAndWarnsAsAtStart()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;

        // Loads policy by policy, but no request could get an answer: the start checks hold a reload to the same rules.
        File.WriteAllText(path, """
            { "type": "SerialPolicy", "config": { "name": "no-backend", "policies": [
              { "type": "ModelNameReplacement", "config": { "model_mapping": {} } }
            ] } }
            """);
        var warning = await _log.WaitForAsync(e => e.Level == LogLevel.Warning, Generous);

        Assert.That(provider.Root, Is.SameAs(before));
        Assert.That(warning.Message, Does.Contain(path).And.Contain("never produces a response"));
    }

    [Test]
    public async Task Root_FileChangedWhileLoadingAtStart_ChangeLoaded()
    {
        // A deploy that writes the file while the app starts: the write lands after the file was read and before it is
        // watched, and must not leave the old chain in force until some later change.
        var path = Write($$"""
            { "type": "SerialPolicy", "config": { "name": "first", "policies": [
              { "type": "Rewrite", "config": {} },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(_log));
        services.AddLuthienControl(o =>
        {
            o.Backend.BaseUrl = new Uri("http://127.0.0.1:6301/v1");
            o.PolicyFile = path;
        }).AddPolicy("Rewrite", _ =>
        {
            File.WriteAllText(path, Chain("second"));
            return new NoopPolicy();
        });
        await using var provider = services.BuildServiceProvider();
        var roots = provider.GetRequiredService<RootPolicyProvider>();
        var reload = NextReload(roots);

        var first = roots.Root;

        Assert.That(first.Name, Is.EqualTo("first"));
        Assert.That((await reload).Name, Is.EqualTo("second"));
    }

    [Test]
    public async Task Root_BadThenGoodChange_GoodOneLoaded()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        _ = provider.Root;
        File.WriteAllText(path, "{ not json");
        await _log.WaitForAsync(e => e.Level == LogLevel.Warning, Generous);
        var reload = NextReload(provider);

        File.WriteAllText(path, Chain("fixed"));

        Assert.That((await reload).Name, Is.EqualTo("fixed"));
    }

    [Test]
    public async Task Root_BadChangeHoldingClientKeys_NoKeyInTheLog()
    {
        const string key = "client-key-Tq93xLw0";
        const string shaped = "sk-proj-Abcdefghijklmnopqrstuvwx";
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        _ = provider.Root;

        // Both values would be repeated by the loader's message: the bad 'source', and a type name.
        File.WriteAllText(path, $$"""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "keys": ["{{key}}"], "source": "{{key}}" } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        var first = await _log.WaitForAsync(e => e.Level == LogLevel.Warning, Generous);
        File.WriteAllText(path, $$"""{ "type": "{{shaped}}", "config": {} }""");
        var second = await _log.WaitForAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("Unknown policy type", StringComparison.Ordinal), Generous);

        Assert.That(first.Message, Does.Contain("ClientApiKeyAuth").And.Contain("source"));
        Assert.That(_log.AllText, Does.Not.Contain(key).And.Not.Contain(shaped).And.Not.Contain("Tq93xLw0"));
        Assert.That(second.Message, Does.Contain("$"));
    }

    [Test]
    public void Root_BadFileAtStartHoldingClientKey_MessageWithoutKey()
    {
        const string key = "client-key-Tq93xLw0";
        var path = Write($$"""{ "type": "ClientApiKeyAuth", "config": { "keys": ["{{key}}"], "source": "{{key}}" } }""");
        using var services = Build(o => o.PolicyFile = path);

        var ex = Assert.Throws<PolicyLoadException>(() => _ = services.GetRequiredService<RootPolicyProvider>().Root);

        Assert.That(ex!.Message, Does.Contain("field 'source'").And.Not.Contain(key));
        Assert.That(ex.InnerException, Is.Null);
    }

    [Test]
    public async Task Root_FileDeleted_KeepsChainAndWarnsThenLoadsItWhenBack()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;

        File.Delete(path);
        var warning = await _log.WaitForAsync(e => e.Level == LogLevel.Warning, Generous);
        Assert.That(warning.Message, Does.Contain("cannot be read"));
        Assert.That(provider.Root, Is.SameAs(before));
        var reload = NextReload(provider);
        File.WriteAllText(path, Chain("back"));

        Assert.That((await reload).Name, Is.EqualTo("back"));
    }

    [Test]
    public async Task Root_ReloadOff_NotWatchedAndChangeIgnored()
    {
        var path = Write(Chain("first"));
        await using var services = Build(o => { o.PolicyFile = path; o.ReloadPolicyFile = false; });
        await using var watching = Build(o => o.PolicyFile = path);
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var witness = watching.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;
        _ = witness.Root;
        var reload = NextReload(witness);

        File.WriteAllText(path, Chain("second"));
        await reload;

        Assert.That(provider.IsWatching, Is.False);
        Assert.That(witness.IsWatching, Is.True);
        Assert.That(provider.Root, Is.SameAs(before));
    }

    [Test]
    public void Root_BuiltInCode_NeverWatched()
    {
        var path = Write(Chain("file"));
        using var services = Build(o => o.PolicyFile = path, s => s.AddSingleton(new RootPolicyFactory(_ => new SendBackendRequestPolicy(Substitute.For<IBackendClient>()) { Name = "code" })));
        var provider = services.GetRequiredService<RootPolicyProvider>();

        Assert.That(provider.Root.Name, Is.EqualTo("code"));
        Assert.That(provider.IsWatching, Is.False);
    }

    [Test]
    public void Root_PolicyFileMissingInTheOutputFolder_SaysToHaveTheBuildCopyIt()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "newcomer-missing-policies.json");
        using var services = Build(o => o.PolicyFile = path);

        Assert.That(() => services.GetRequiredService<RootPolicyProvider>().Root, Throws.TypeOf<PolicyLoadException>().With.Message.EqualTo(
            $"Policy file '{path}' does not exist: it is in the app's output folder, where the build copies only what it is told to: " +
            "add <None Update=\"newcomer-missing-policies.json\" CopyToOutputDirectory=\"PreserveNewest\" /> to the project file (with the file beside it), or give another path."));
    }

    [Test]
    public void Root_RelativePolicyFileMissing_NamesTheWorkingDirectory()
    {
        using var services = Build(o => o.PolicyFile = "newcomer-missing-policies.json");

        Assert.That(() => services.GetRequiredService<RootPolicyProvider>().Root, Throws.TypeOf<PolicyLoadException>().With.Message.Contains(
            $"does not exist: the relative path 'newcomer-missing-policies.json' is read against the working directory ({Directory.GetCurrentDirectory()})"));
    }

    [Test]
    public void Root_BuiltInCodeWithPolicyFileSet_WarnsThatTheFileIsNotUsed()
    {
        var path = Write(Chain("file"));
        using var services = Build(o => o.PolicyFile = path, s => s.AddSingleton(new RootPolicyFactory(_ => new SendBackendRequestPolicy(Substitute.For<IBackendClient>()) { Name = "code" })));

        _ = services.GetRequiredService<RootPolicyProvider>().Root;

        Assert.That(_log.Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message), Has.One.Contains($"built in code (UsePolicies or UsePolicy), so the policy file '{path}'")
            .And.One.Contains("is not used"));
    }

    [Test]
    public void Root_BuiltInCodeWithoutPolicyFile_NoWarning()
    {
        using var services = Build(_ => { }, s => s.AddSingleton(new RootPolicyFactory(_ => new SendBackendRequestPolicy(Substitute.For<IBackendClient>()) { Name = "code" })));

        _ = services.GetRequiredService<RootPolicyProvider>().Root;

        Assert.That(_log.Entries.Where(e => e.Level >= LogLevel.Warning), Is.Empty);
    }

    [Test]
    public void Root_DebouncedPolling_OneLoadAfterTheChangeSettles()
    {
        var path = Write(Chain("first"));
        var time = new FakeTimeProvider();
        using var services = Build(o => o.PolicyFile = path, s => s.AddSingleton<TimeProvider>(time));
        var provider = services.GetRequiredService<RootPolicyProvider>();
        provider.Polling = true;
        var before = provider.Root;
        var reloads = new List<ControlPolicy>();
        provider.Reloaded += reloads.Add;

        File.WriteAllText(path, Chain("second"));
        time.Advance(PolicyFileWatcher.DefaultPollInterval - TimeSpan.FromMilliseconds(1));
        var beforePoll = provider.Root;
        time.Advance(TimeSpan.FromMilliseconds(1));
        time.Advance(PolicyFileWatcher.DefaultPollInterval);

        Assert.That(beforePoll, Is.SameAs(before));
        Assert.That(reloads.Select(r => r.Name), Is.EqualTo(new[] { "second" }));
        Assert.That(provider.Root.Name, Is.EqualTo("second"));
    }

    [Test]
    public void OptionsReload_NewPolicyFile_LoadedAsAChangedFileIs()
    {
        var first = Write(Chain("first"), "first.json");
        var second = Write(Chain("second"), "second.json");
        var (configuration, built) = FromConfiguration(first);
        using var _ = built;
        var provider = built.GetRequiredService<RootPolicyProvider>();
        Assert.That(provider.Root.Name, Is.EqualTo("first"));

        configuration["Luthien:PolicyFile"] = second;
        configuration.Reload();

        Assert.That(provider.Root.Name, Is.EqualTo("second"));
    }

    [Test]
    public void OptionsReload_PolicyFileSetWhereDefaultChainRan_FileLoaded()
    {
        var path = Write(Chain("from-file"));
        var (configuration, built) = FromConfiguration(null);
        using var _ = built;
        var provider = built.GetRequiredService<RootPolicyProvider>();
        Assert.That(provider.Root.Name, Is.EqualTo("default"));

        configuration["Luthien:PolicyFile"] = path;
        configuration.Reload();

        Assert.That(provider.Root.Name, Is.EqualTo("from-file"));
        Assert.That(provider.IsWatching, Is.True);
    }

    [Test]
    public void OptionsReload_PolicyFileRemoved_ChainInForceStaysAndWarns()
    {
        var first = Write(Chain("first"), "first.json");
        var (configuration, built) = FromConfiguration(first);
        using var _ = built;
        var provider = built.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;

        configuration["Luthien:PolicyFile"] = null;
        configuration.Reload();

        Assert.That(provider.Root, Is.SameAs(before));
        Assert.That(_log.Entries, Has.Some.Matches<(LogLevel Level, string Message)>(e => e.Level == LogLevel.Warning && e.Message.Contains("Luthien:PolicyFile was removed", StringComparison.Ordinal)));
    }

    [Test]
    public void OptionsReload_NewPolicyFileBad_ChainInForceStaysAndWarns()
    {
        var first = Write(Chain("first"), "first.json");
        var bad = Write("""{ "type": "NoSuchPolicy" }""", "bad.json");
        var (configuration, built) = FromConfiguration(first);
        using var _ = built;
        var provider = built.GetRequiredService<RootPolicyProvider>();
        var before = provider.Root;

        configuration["Luthien:PolicyFile"] = bad;
        configuration.Reload();

        Assert.That(provider.Root, Is.SameAs(before));
        Assert.That(_log.Entries, Has.Some.Matches<(LogLevel Level, string Message)>(e => e.Level == LogLevel.Warning && e.Message.Contains("NoSuchPolicy", StringComparison.Ordinal)));
    }

    [Test]
    public async Task HostPipeline_ReloadWhileTransactionRuns_TransactionFinishesOnItsChain()
    {
        var path = Write(Chain("first", model: "first-model"));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var backend = Substitute.For<IBackendClient>();
        var models = new ConcurrentQueue<string?>();
        backend.SendAsync(Arg.Any<Transaction>(), Arg.Any<CancellationToken>()).Returns(call => Answer(call.Arg<Transaction>()));
        await using var services = Build(o => o.PolicyFile = path, s => s.AddSingleton(backend));
        var provider = services.GetRequiredService<RootPolicyProvider>();
        var pipeline = services.GetRequiredService<HostPipeline>();
        _ = provider.Root;

        var running = pipeline.RunAsync(TestTransactions.Chat("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}"""), CancellationToken.None).AsTask();
        await entered.Task.WaitAsync(Generous);
        var reload = NextReload(provider);
        File.WriteAllText(path, Chain("second", model: "second-model"));
        await reload;
        var next = TestTransactions.Chat("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""");
        await pipeline.RunAsync(next, CancellationToken.None);
        gate.SetResult();
        await running.WaitAsync(Generous);

        Assert.That(models, Is.EqualTo(new[] { "second-model", "first-model" }));

        async ValueTask Answer(Transaction transaction)
        {
            if (transaction.Request.Model == "first-model")
            {
                entered.TrySetResult();
                await gate.Task;
            }

            models.Enqueue(transaction.Request.Model);
            transaction.Response.SetJson(200, new System.Text.Json.Nodes.JsonObject { ["ok"] = true });
        }
    }

    /// <summary>Keeps every log line, and lets a test wait for one.</summary>
    private sealed class LogSink : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();
        private readonly Lock _gate = new();
        private readonly List<(Func<(LogLevel Level, string Message), bool> Match, TaskCompletionSource<(LogLevel Level, string Message)> Found)> _waiters = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

        public string AllText => string.Join("\n", _entries.Select(e => e.Message));

        public Task<(LogLevel Level, string Message)> WaitForAsync(Func<(LogLevel Level, string Message), bool> match, TimeSpan timeout)
        {
            var found = new TaskCompletionSource<(LogLevel Level, string Message)>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                foreach (var entry in _entries)
                {
                    if (match(entry))
                    {
                        return Task.FromResult(entry);
                    }
                }

                _waiters.Add((match, found));
            }

            return found.Task.WaitAsync(timeout);
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private void Add(LogLevel level, string message)
        {
            lock (_gate)
            {
                var entry = (level, message);
                _entries.Enqueue(entry);
                foreach (var waiter in _waiters.Where(w => w.Match(entry)).ToList())
                {
                    _waiters.Remove(waiter);
                    waiter.Found.TrySetResult(entry);
                }
            }
        }

        private sealed class Logger(LogSink sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Add(logLevel, formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
        }
    }
}
