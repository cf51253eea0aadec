using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Luthien.Control;

/// <summary>
/// The names under which Luthien.Control reports traces and metrics, following the OpenTelemetry GenAI semantic
/// conventions. Subscribe with <c>.AddSource(LuthienTelemetry.SourceName)</c> and <c>.AddMeter(LuthienTelemetry.MeterName)</c>.
/// </summary>
/// <remarks>
/// One span per transaction, named <c>{gen_ai.operation.name} {gen_ai.request.model}</c>, with
/// <c>gen_ai.operation.name</c>, <c>gen_ai.request.model</c>, <c>gen_ai.usage.input_tokens</c>,
/// <c>gen_ai.usage.output_tokens</c>, <c>luthien.transaction_id</c> and <c>error.type</c>. Metrics:
/// <c>gen_ai.server.request.duration</c> (s), <c>gen_ai.server.time_to_first_token</c> (s, streams),
/// <c>gen_ai.client.token.usage</c> (tokens from the backend's usage, by <c>gen_ai.token.type</c>) and
/// <c>luthien.stream.chunks</c>. No attribute ever holds message text or a credential.
/// </remarks>
public static class LuthienTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name.</summary>
    public const string SourceName = "Luthien.Control";

    /// <summary>The <see cref="Meter"/> name.</summary>
    public const string MeterName = "Luthien.Control";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>The transaction's span, when the current activity is one (the host starts it; steps and writers read it).</summary>
    internal static Activity? CurrentSpan => Activity.Current is { } activity && ReferenceEquals(activity.Source, Source) ? activity : null;
}
