using System.Globalization;
using System.Text.Json;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// A stream's events over time as an inline SVG: one bar per event (or per slice of time, when there are many), its
/// height the bytes sent, drawn by the server so the page needs no script. Reads the response row's
/// <c>timeline</c>: <c>[[t_ms, bytes], …]</c>.
/// </summary>
internal static class StreamTimeline
{
    private const int Width = 960;
    private const int Height = 128;
    private const int Left = 8;
    private const int Right = 8;
    private const int Top = 24;
    private const int Baseline = 104;

    /// <summary>The most bars drawn; more events are summed into this many slices of time.</summary>
    private const int MaxBars = 320;

    /// <summary>The points read from a <c>timeline</c> array; entries that are not <c>[number, number]</c> are skipped.</summary>
    /// <param name="timeline">The array.</param>
    public static List<(double Ms, double Bytes)> Read(JsonElement timeline)
    {
        var points = new List<(double, double)>();
        if (timeline.ValueKind != JsonValueKind.Array)
        {
            return points;
        }

        foreach (var entry in timeline.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Array && entry.GetArrayLength() >= 2 &&
                entry[0].ValueKind == JsonValueKind.Number && entry[1].ValueKind == JsonValueKind.Number &&
                entry[0].TryGetDouble(out var ms) && entry[1].TryGetDouble(out var bytes) &&
                double.IsFinite(ms) && double.IsFinite(bytes) && ms >= 0 && bytes >= 0)
            {
                points.Add((ms, bytes));
            }
        }

        return points;
    }

    /// <summary>The SVG; empty when there are no points.</summary>
    /// <param name="points">The events: time after the start (ms) and bytes.</param>
    /// <param name="durationMs">The transaction's duration, when known: the axis runs to it.</param>
    /// <param name="firstChunkMs">When the client got its first chunk, when known: marked on the axis.</param>
    public static RawHtml ToSvg(IReadOnlyList<(double Ms, double Bytes)> points, double? durationMs, double? firstChunkMs)
    {
        if (points.Count == 0)
        {
            return RawHtml.Empty;
        }

        var last = points.Max(p => p.Ms);
        var span = Math.Max(Math.Max(last, durationMs ?? 0), 1);
        var plot = Width - Left - Right;

        // Summed per slice of the plot's width, so that a long stream still draws in bounded markup.
        var bars = new List<(double Ms, double Bytes, int Events)>();
        if (points.Count <= MaxBars)
        {
            bars.AddRange(points.Select(p => (p.Ms, p.Bytes, 1)));
        }
        else
        {
            var slices = new (double Bytes, int Events)[MaxBars];
            foreach (var (ms, bytes) in points)
            {
                var slice = Math.Min((int)(ms / span * MaxBars), MaxBars - 1);
                slices[slice] = (slices[slice].Bytes + bytes, slices[slice].Events + 1);
            }

            for (var i = 0; i < MaxBars; i++)
            {
                if (slices[i].Events > 0)
                {
                    bars.Add((span * i / MaxBars, slices[i].Bytes, slices[i].Events));
                }
            }
        }

        var most = Math.Max(bars.Max(b => b.Bytes), 1);
        var barWidth = Math.Clamp(plot / (double)Math.Max(bars.Count, 1) * 0.5, 1.5, 4);
        var html = new AdminHtml();
        html.Append($"<svg class=\"timeline\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{points.Count} stream events over {TransactionOutcome.FormatMs(span)}\">");
        html.Append($"<line class=\"axis\" x1=\"{Left}\" y1=\"{Baseline}\" x2=\"{Width - Right}\" y2=\"{Baseline}\"/>");
        for (var tick = 0; tick <= 4; tick++)
        {
            var x = Left + (plot * tick / 4.0);
            html.Append($"<line class=\"grid\" x1=\"{Num(x)}\" y1=\"{Top}\" x2=\"{Num(x)}\" y2=\"{Baseline}\"/>");
            var anchor = tick == 0 ? "start" : tick == 4 ? "end" : "middle";
            html.Append($"<text class=\"tick\" x=\"{Num(x)}\" y=\"{Baseline + 18}\" text-anchor=\"{anchor}\">{TransactionOutcome.FormatMs(span * tick / 4)}</text>");
        }

        if (firstChunkMs is { } first && first >= 0 && first <= span)
        {
            var x = Left + (first / span * plot);
            html.Append($"<line class=\"first\" x1=\"{Num(x)}\" y1=\"{Top - 8}\" x2=\"{Num(x)}\" y2=\"{Baseline}\"/>");
            var left = x > Width / 4;
            html.Append($"<text class=\"first-label\" x=\"{Num(left ? x - 5 : x + 5)}\" y=\"{Top - 10}\" text-anchor=\"{(left ? "end" : "start")}\">first chunk {TransactionOutcome.FormatMs(first)}</text>");
        }

        foreach (var (ms, bytes, events) in bars)
        {
            var x = Left + (ms / span * plot);
            var height = Math.Max(2, Math.Sqrt(bytes / most) * (Baseline - Top));
            var label = events == 1
                ? $"{TransactionOutcome.FormatMs(ms)}: {bytes.ToString("0", CultureInfo.InvariantCulture)} bytes"
                : $"{TransactionOutcome.FormatMs(ms)}: {events} events, {bytes.ToString("0", CultureInfo.InvariantCulture)} bytes";
            html.Append($"<rect class=\"bar\" x=\"{Num(Math.Min(x, Width - Right - barWidth))}\" y=\"{Num(Baseline - height)}\" width=\"{Num(barWidth)}\" height=\"{Num(height)}\"><title>{label}</title></rect>");
        }

        html.Append($"</svg>");
        return html.ToHtml();
    }

    private static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
