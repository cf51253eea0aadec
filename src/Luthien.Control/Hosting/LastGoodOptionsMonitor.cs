using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Luthien.Control;

/// <summary>
/// The <c>Luthien</c> options as they change with the configuration, keeping the last good ones when a change is bad.
/// </summary>
/// <remarks>
/// <see cref="OptionsMonitor{TOptions}"/> drops its value when the configuration changes and builds it again on the next
/// read; a change with an unknown key or an invalid value then throws on every read — every request a 500 — until the
/// file is fixed. Here a bad change is said once in the log and the options in force stay; the next change is tried
/// again. At start there is nothing to keep: bad options stop the app, as <c>ValidateOnStart</c> wants.
/// </remarks>
internal sealed partial class LastGoodOptionsMonitor : IOptionsMonitor<LuthienOptions>, IDisposable
{
    private readonly IOptionsFactory<LuthienOptions> _factory;

    // Read on every request: one delegate made here, not one per read (a method group is a new delegate each time).
    private readonly Func<string, LuthienOptions> _create;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, LuthienOptions> _values = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _registrations = [];
    private event Action<LuthienOptions, string?>? Changed;

    /// <summary>Creates the monitor.</summary>
    /// <param name="factory">Builds and validates the options.</param>
    /// <param name="sources">What says that the configuration changed.</param>
    /// <param name="logger">Where a bad change is said.</param>
    public LastGoodOptionsMonitor(IOptionsFactory<LuthienOptions> factory, IEnumerable<IOptionsChangeTokenSource<LuthienOptions>> sources, ILogger<LastGoodOptionsMonitor> logger)
    {
        _factory = factory;
        _create = factory.Create;
        _logger = logger;
        foreach (var source in sources)
        {
            var name = source.Name ?? Options.DefaultName;
            _registrations.Add(ChangeToken.OnChange(source.GetChangeToken, () => Reload(name)));
        }
    }

    /// <inheritdoc />
    public LuthienOptions CurrentValue => Get(Options.DefaultName);

    /// <inheritdoc />
    public LuthienOptions Get(string? name) => _values.GetOrAdd(name ?? Options.DefaultName, _create);

    /// <inheritdoc />
    public IDisposable OnChange(Action<LuthienOptions, string?> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        Changed += listener;
        return new Unsubscribe(() => Changed -= listener);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    /// <summary>Builds the options again after a change; a bad change leaves the ones in force.</summary>
    private void Reload(string name)
    {
        LuthienOptions options;
        try
        {
            options = _factory.Create(name);
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            if (!_values.ContainsKey(name))
            {
                // Never built yet: the next read builds them and says what is wrong.
                return;
            }

            LogBadChange(_logger, ex.Message);
            return;
        }

        _values[name] = options;
        Changed?.Invoke(options, name);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Luthien options: the configuration changed, but the change is not valid, so the options in force stay until it is fixed: {Reason}")]
    private static partial void LogBadChange(ILogger logger, string reason);

    private sealed class Unsubscribe(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }
}
