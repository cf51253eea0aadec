using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using OpenAI.Chat;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>Spans and metrics under the GenAI semantic conventions, observed with the BCL's own listeners.</summary>
public class LuthienTelemetryTests
{
    private readonly ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly ConcurrentBag<Activity> _activities = [];
    private MeterListener _meterListener = null!;
    private ActivityListener _activityListener = null!;

    [SetUp]
    public void Listen()
    {
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
        _activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == LuthienTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _activities.Add,
        };
        ActivitySource.AddActivityListener(_activityListener);
    }

    [TearDown]
    public void Stop()
    {
        _meterListener.Dispose();
        _activityListener.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        _measurements.Add((instrument.Name, value, map));
    }

    [Test]
    public async Task StreamedChat_EchoBackend_RecordsDurationFirstChunkChunksTokensAndSpan()
    {
        await using var app = new LuthienAppFactory(new Dictionary<string, string?>());

        await foreach (var _ in app.CreateChatClient(model: "telemetry-model").CompleteChatStreamingAsync([new UserChatMessage("one two three")]))
        {
        }

        var mine = _measurements.Where(m => Equals(m.Tags.GetValueOrDefault("gen_ai.request.model"), "telemetry-model")).ToList();
        var duration = mine.Single(m => m.Instrument == "gen_ai.server.request.duration");
        Assert.That(duration.Value, Is.GreaterThan(0));
        Assert.That(duration.Tags["gen_ai.operation.name"], Is.EqualTo("chat"));
        Assert.That(duration.Tags["http.response.status_code"], Is.EqualTo(200));
        Assert.That(duration.Tags, Does.Not.ContainKey("error.type"), "no error.type on success (GenAI semantic conventions)");
        Assert.That(mine.Count(m => m.Instrument == "gen_ai.server.time_to_first_token"), Is.EqualTo(1));
        Assert.That(mine.Single(m => m.Instrument == "luthien.stream.chunks").Value, Is.EqualTo(6), "role, three words, finish, usage");
        var tokens = mine.Where(m => m.Instrument == "gen_ai.client.token.usage").ToDictionary(m => (string)m.Tags["gen_ai.token.type"]!, m => m.Value);
        Assert.That(tokens["output"], Is.EqualTo(3));
        Assert.That(tokens["input"], Is.GreaterThan(0));

        var span = _activities.Single(a => Equals(a.GetTagItem("gen_ai.request.model"), "telemetry-model"));
        Assert.That(span.DisplayName, Is.EqualTo("chat telemetry-model"));
        Assert.That(span.GetTagItem("gen_ai.usage.output_tokens"), Is.EqualTo(3L));
        Assert.That(span.GetTagItem("luthien.transaction_id") as string, Does.StartWith("ltx-"));
    }

    [Test]
    public async Task RejectedRequest_RecordsErrorTypeOnMetricAndSpan()
    {
        await using var app = new LuthienAppFactory(new Dictionary<string, string?>());
        using var http = app.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("not json"));

        var duration = _measurements.Single(m => m.Instrument == "gen_ai.server.request.duration" && Equals(m.Tags["error.type"], "invalid_request"));
        Assert.That(duration.Tags["http.response.status_code"], Is.EqualTo(400));
        Assert.That(_activities.Any(a => Equals(a.GetTagItem("error.type"), "invalid_request") && a.Status == ActivityStatusCode.Error), Is.True);
    }

    [Test]
    public async Task PolicyThrowsUnexpectedly_500ServerErrorWithNoDetailAndErrorTypeInternal()
    {
        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:PolicyFile"] = PolicyFiles.Write("""
                { "type": "SerialPolicy", "config": { "policies": [ { "type": "Buggy", "config": {} }, { "type": "SendBackendRequest", "config": {} } ] } }
                """) },
            b => b.AddPolicy<BuggyPolicy>("Buggy"));
        using var http = host.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"buggy-model","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.That(error["type"]!.GetValue<string>(), Is.EqualTo("server_error"));
        Assert.That(error["code"]!.GetValue<string>(), Is.EqualTo("server_error"));
        Assert.That(body, Does.Not.Contain("internal details").And.Not.Contain("Exception"));
        var duration = _measurements.Single(m => m.Instrument == "gen_ai.server.request.duration" && Equals(m.Tags["gen_ai.request.model"], "buggy-model"));
        Assert.That(duration.Tags["error.type"], Is.EqualTo("internal"));
    }

    [Test]
    public async Task PolicyThrowsMidStream_RecordsPolicyFailureOnceWithStatus200()
    {
        await using var backend = await FakeBackend.StartAsync();
        const string head = "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"";
        backend.Handler = c => FakeBackend.Sse(
            c,
            $"data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"one \"}},\"finish_reason\":null}}]}}\n\n",
            $"data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"two\"}},\"finish_reason\":null}}]}}\n\n",
            "data: [DONE]\n\n");
        await using var host = await LuthienTestHost.StartAsync(
            new() { ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(), ["Luthien:PolicyFile"] = PolicyFiles.Write("""
                { "type": "SerialPolicy", "config": { "policies": [ { "type": "FailOnSecond", "config": {} }, { "type": "SendBackendRequest", "config": {} } ] } }
                """) },
            b => b.AddPolicy<StreamingContractTests.FailOnSecondChunkPolicy>("FailOnSecond"));
        using var http = host.CreateClient();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"midstream-model","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var raw = await response.Content.ReadAsStringAsync();

        Assert.That(raw, Does.Contain("\"code\":\"policy_error\""));
        var duration = _measurements.Single(m => m.Instrument == "gen_ai.server.request.duration" && Equals(m.Tags["gen_ai.request.model"], "midstream-model"));
        Assert.That(duration.Tags["error.type"], Is.EqualTo("policy_failure"));
        Assert.That(duration.Tags["http.response.status_code"], Is.EqualTo(200));
        Assert.That(_activities.Single(a => Equals(a.GetTagItem("gen_ai.request.model"), "midstream-model")).GetTagItem("error.type"), Is.EqualTo("policy_failure"));
    }

    public sealed class BuggyPolicy : ControlPolicy
    {
        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("bug in a policy, with internal details");
    }
}
