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
        object[]? decisions = null)
    {
        var path = api switch { "responses" => "/v1/responses", "completions" => "/v1/completions", _ => "/v1/chat/completions" };
        var usage = status == 200 ? new { prompt_tokens = 14, completion_tokens = 8, total_tokens = 22 } : null;
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
            duration_ms = stream ? 1834.2 : 412.7,
            time_to_first_chunk_ms = stream ? (double?)231.5 : null,
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
                events = 24,
                timeline = Enumerable.Range(0, 24).Select(i => new[] { 231.5 + (i * 66.3), 120 + (i * 37 % 90) }).ToArray(),
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
}
