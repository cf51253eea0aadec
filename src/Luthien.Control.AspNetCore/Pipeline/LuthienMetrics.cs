using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;

namespace Luthien.Control.AspNetCore;

/// <summary>The library's instruments, created once from the application's <see cref="IMeterFactory"/>.</summary>
internal sealed class LuthienMetrics
{
    private static readonly double[] SecondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    public LuthienMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(LuthienTelemetry.MeterName);
        Duration = meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "Time from the client's request to the end of the response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        TimeToFirstChunk = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from the client's request to the first chunk sent back.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });
        Tokens = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens the backend reported using.");
        Chunks = meter.CreateCounter<long>("luthien.stream.chunks", "{chunk}", "Chunks written to streaming clients.");
    }

    public Histogram<double> Duration { get; }

    public Histogram<double> TimeToFirstChunk { get; }

    public Histogram<long> Tokens { get; }

    public Counter<long> Chunks { get; }

    /// <summary>Reads <c>usage</c> from a completion or a usage chunk and records it on the span and the token metric.</summary>
    public void RecordUsage(JsonObject? json, Transaction transaction, Activity? activity)
    {
        if (json?["usage"] is not JsonObject usage)
        {
            return;
        }

        var input = usage["prompt_tokens"] is JsonValue p && p.TryGetValue(out long pt) ? pt : (long?)null;
        var output = usage["completion_tokens"] is JsonValue c && c.TryGetValue(out long ct) ? ct : (long?)null;
        var model = transaction.Request.Chat?.Model;
        if (input is { } i)
        {
            activity?.SetTag("gen_ai.usage.input_tokens", i);
            Tokens.Record(i, new("gen_ai.operation.name", "chat"), new("gen_ai.request.model", model), new("gen_ai.token.type", "input"));
        }

        if (output is { } o)
        {
            activity?.SetTag("gen_ai.usage.output_tokens", o);
            Tokens.Record(o, new("gen_ai.operation.name", "chat"), new("gen_ai.request.model", model), new("gen_ai.token.type", "output"));
        }
    }

    /// <summary>Whether anyone listens for token usage, so that it is worth reading from the answer.</summary>
    public bool RecordsUsage(Activity? activity) => Tokens.Enabled || activity is { IsAllDataRequested: true };
}
