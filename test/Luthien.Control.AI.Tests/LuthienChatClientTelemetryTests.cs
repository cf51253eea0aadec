using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Luthien.Control.AI.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AI.Tests;

/// <summary>In-process calls leave the same span and metrics as an HTTP exchange: the GenAI conventions' names, the error type of a refusal.</summary>
public sealed class LuthienChatClientTelemetryTests
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private ActivityListener _spanListener = null!;
    private MeterListener _meterListener = null!;
    private string _model = null!;

    [SetUp]
    public void Listen()
    {
        // A model of this test's own, so that other tests' telemetry is told apart.
        _model = "telemetry-" + Guid.NewGuid().ToString("N")[..8];
        _spanListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == LuthienTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_spanListener);
        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == LuthienTelemetry.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meterListener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meterListener.Start();
    }

    [TearDown]
    public void Stop()
    {
        _spanListener.Dispose();
        _meterListener.Dispose();
    }

    [Test]
    public async Task GetStreamingResponse_Served_OneSpanAndTheDurationAndFirstChunkMetrics()
    {
        using var backend = new ScriptedOpenAi();
        backend.Streams(Wire.Text("Hello", " there."));
        await using var provider = Build(backend, """{ "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact" } }""");

        await provider.GetRequiredService<IChatClient>().GetStreamingResponseAsync("Hi", new ChatOptions { ModelId = _model }).ToChatResponseAsync();

        var span = _spans.Single(s => Equals(s.GetTagItem("gen_ai.request.model"), _model));
        Assert.That(span.DisplayName, Is.EqualTo($"chat {_model}"));
        Assert.That(span.GetTagItem("gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(span.GetTagItem("luthien.transaction_id") as string, Does.StartWith("ltx-"));
        Assert.That(span.Status, Is.Not.EqualTo(ActivityStatusCode.Error));
        var mine = _measurements.Where(m => Equals(m.Tags.GetValueOrDefault("gen_ai.request.model"), _model)).ToList();
        Assert.That(mine.Select(m => m.Instrument), Does.Contain("gen_ai.server.request.duration"));
        Assert.That(mine.Select(m => m.Instrument), Does.Contain("gen_ai.server.time_to_first_token"));
        Assert.That(mine.Single(m => m.Instrument == "gen_ai.server.request.duration").Tags["http.response.status_code"], Is.EqualTo(200));
    }

    [Test]
    public async Task GetResponse_NoModelId_DurationNamesTheOperationNotThePath()
    {
        using var backend = new ScriptedOpenAi();
        backend.Answers(Wire.Completion("Hello."));
        await using var provider = Build(backend, """{ "type": "NoopPolicy", "config": {} }""");
        var before = _measurements.Count;

        await provider.GetRequiredService<IChatClient>().GetResponseAsync("Hi");

        var duration = _measurements.Skip(before).Single(m => m.Instrument == "gen_ai.server.request.duration" && m.Tags["gen_ai.request.model"] is null);
        Assert.That(duration.Tags["gen_ai.operation.name"], Is.EqualTo("chat"));
        Assert.That(duration.Tags, Does.Not.ContainKey("error.type"));
    }

    [Test]
    public async Task GetResponse_Refused_SpanAndDurationCarryTheErrorType()
    {
        using var backend = new ScriptedOpenAi();
        await using var provider = Build(backend, """{ "type": "LeakedApiKeyDetection", "config": { "patterns": [] } }""");

        Assert.ThrowsAsync<ControlPolicyException>(() =>
            provider.GetRequiredService<IChatClient>().GetResponseAsync("my key is sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123", new ChatOptions { ModelId = _model }));

        var span = _spans.Single(s => Equals(s.GetTagItem("gen_ai.request.model"), _model));
        Assert.That(span.GetTagItem("error.type"), Is.EqualTo("policy_rejection"));
        Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
        var duration = _measurements.Single(m => m.Instrument == "gen_ai.server.request.duration" && Equals(m.Tags.GetValueOrDefault("gen_ai.request.model"), _model));
        Assert.That(duration.Tags["http.response.status_code"], Is.EqualTo(403));
        Assert.That(duration.Tags["error.type"], Is.EqualTo("policy_rejection"));
    }

    private static ServiceProvider Build(ScriptedOpenAi backend, string policy)
    {
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddLuthienControl().UsePolicy(sp => new PolicyLoader(sp.GetRequiredService<PolicyRegistry>(), sp).LoadJson(
            $$"""{ "type": "SerialPolicy", "config": { "policies": [ {{policy}}, { "type": "SendBackendRequest", "config": {} } ] } }"""));
        services.AddChatClient(_ => backend.CreateClient()).UseLuthienControl();
        return services.BuildServiceProvider();
    }

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), copy));
    }
}
