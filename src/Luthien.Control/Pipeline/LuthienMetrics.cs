using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;

namespace Luthien.Control;

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

        // Chat and legacy completions count prompt and completion tokens; the Responses API, input and output tokens.
        var input = Count(usage["prompt_tokens"]) ?? Count(usage["input_tokens"]);
        var output = Count(usage["completion_tokens"]) ?? Count(usage["output_tokens"]);
        var model = transaction.Request.Model;
        var operation = Operation(transaction.Request.Kind) ?? "chat";
        if (input is { } i)
        {
            activity?.SetTag("gen_ai.usage.input_tokens", i);
            Tokens.Record(i, new("gen_ai.operation.name", operation), new("gen_ai.request.model", model), new("gen_ai.token.type", "input"));
        }

        if (output is { } o)
        {
            activity?.SetTag("gen_ai.usage.output_tokens", o);
            Tokens.Record(o, new("gen_ai.operation.name", operation), new("gen_ai.request.model", model), new("gen_ai.token.type", "output"));
        }
    }

    /// <summary>
    /// The GenAI semantic conventions' operation name of a policed API (the Responses API is a chat too);
    /// <see langword="null"/> for pass-through.
    /// </summary>
    public static string? Operation(RequestKind kind) => kind switch
    {
        RequestKind.ChatCompletion or RequestKind.Responses => "chat",
        RequestKind.Completion => "text_completion",
        _ => null,
    };

    private static long? Count(JsonNode? node) => node is JsonValue v && v.TryGetValue(out long count) ? count : null;

    /// <summary>Whether anyone listens for token usage, so that it is worth reading from the answer.</summary>
    public bool RecordsUsage(Activity? activity) => Tokens.Enabled || activity is { IsAllDataRequested: true };
}
