using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// The library's instruments for one test, with what they record: measurements of these instruments only, and the
/// spans of the library's source that ended. Spans and metrics can each be left unheard, as when nobody listens.
/// </summary>
internal sealed class TelemetryRecorder : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener? _meterListener;
    private readonly ActivityListener? _activityListener;

    public TelemetryRecorder(bool spans = true, bool metrics = true)
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new LuthienMetrics(_services.GetRequiredService<IMeterFactory>());
        if (metrics)
        {
            var meter = Metrics.Duration.Meter;
            _meterListener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (ReferenceEquals(instrument.Meter, meter))
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meterListener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
            _meterListener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
            _meterListener.Start();
        }

        if (spans)
        {
            _activityListener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == LuthienTelemetry.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = Spans.Add,
            };
            ActivitySource.AddActivityListener(_activityListener);
        }
    }

    public LuthienMetrics Metrics { get; }

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = [];

    public ConcurrentBag<Activity> Spans { get; } = [];

    public List<(double Value, Dictionary<string, object?> Tags)> Of(string instrument) =>
        Measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags)).ToList();

    public void Dispose()
    {
        _meterListener?.Dispose();
        _activityListener?.Dispose();
        _services.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        Measurements.Enqueue((instrument.Name, value, map));
    }
}
