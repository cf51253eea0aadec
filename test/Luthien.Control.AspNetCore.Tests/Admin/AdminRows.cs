using System.Text.Json;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>Audit-log rows shaped as the log writer writes them.</summary>
internal static class AdminRows
{
    public static readonly DateTime Start = new(2025, 6, 1, 9, 0, 0, DateTimeKind.Utc);

    /// <summary>A transaction's request, response and outcome rows.</summary>
    public static TransactionLogRow[] Transaction(
        string id,
        DateTime time,
        int status = 200,
        string model = "gpt-4o-mini",
        string? keyName = "team-a",
        bool stream = false,
        string? errorCode = null,
        string api = "chat.completions",
        string prompt = "What is the capital of France?",
        string answer = "The capital of France is Paris.",
        object[]? decisions = null,
        double? durationMs = null,
        double firstChunkMs = 231.5,
        int promptTokens = 14,
        int completionTokens = 8,
        int events = 24)
    {
        var duration = durationMs ?? (stream ? 1834.2 : 412.7);
        var path = api switch { "responses" => "/v1/responses", "completions" => "/v1/completions", _ => "/v1/chat/completions" };
        var usage = status == 200 ? new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens } : null;
        var outcome = new
        {
            status,
            error_code = errorCode,
            api,
            method = "POST",
            path,
            model,
            stream,
            decisions = decisions ?? [],
            usage,
            duration_ms = duration,
            time_to_first_chunk_ms = stream ? (double?)firstChunkMs : null,
            client = new { key_name = keyName, user = (string?)null },
        };
        var request = new
        {
            api,
            method = "POST",
            path,
            model,
            stream,
            headers = new Dictionary<string, string> { ["content-type"] = "application/json", ["authorization"] = "[redacted]", ["user-agent"] = "OpenAI/NodeJS/4.77.0" },
            body = new { model, stream, messages = new[] { new { role = "system", content = "You are terse." }, new { role = "user", content = prompt } } },
            body_bytes = 187,
            truncated = false,
        };
        var message = new { role = "assistant", content = answer };
        object response = stream
            ? new
            {
                status,
                stream = true,
                assembled = new { id = "chatcmpl-" + id, @object = "chat.completion", model, choices = new[] { new { index = 0, message, finish_reason = "stop" } } },
                events,
                timeline = Timeline(id, events, firstChunkMs, duration),
                truncated = false,
            }
            : new
            {
                status,
                body = status == 200
                    ? (object)new { id = "chatcmpl-" + id, @object = "chat.completion", model, choices = new[] { new { index = 0, message, finish_reason = "stop" } }, usage }
                    : new { error = new { message = "Refused.", type = "invalid_request_error", param = (string?)null, code = errorCode } },
                truncated = false,
            };
        return
        [
            new TransactionLogRow(id, time, TransactionLogRow.Request, JsonSerializer.Serialize(request)),
            new TransactionLogRow(id, time, TransactionLogRow.Response, JsonSerializer.Serialize(response)),
            new TransactionLogRow(id, time, TransactionLogRow.Outcome, JsonSerializer.Serialize(outcome)),
        ];
    }

    /// <summary>Events from the first chunk to the end, unevenly spaced as a model's tokens are (the same for the same id).</summary>
    private static double[][] Timeline(string id, int events, double firstMs, double durationMs)
    {
        var random = new Random(id.Sum(c => c));
        var gaps = Enumerable.Range(0, Math.Max(events - 1, 0)).Select(_ => 0.3 + random.NextDouble()).ToArray();
        var scale = (durationMs - firstMs - 5) / Math.Max(gaps.Sum(), 1);
        var t = firstMs;
        var timeline = new List<double[]>();
        for (var i = 0; i < events; i++)
        {
            timeline.Add([Math.Round(t, 1), 110 + random.Next(0, 120)]);
            if (i < gaps.Length)
            {
                t += gaps[i] * scale;
            }
        }

        return [.. timeline];
    }
}
