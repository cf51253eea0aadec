using System.Globalization;
using System.Text.Json;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// A transaction's <c>outcome</c> row, read leniently for display: every field is optional, and one of the wrong type
/// is treated as missing (the row is the log writer's, but a page must render whatever the table holds).
/// </summary>
internal sealed record TransactionOutcome
{
    /// <summary>The row's id (for paging).</summary>
    public long Id { get; init; }

    /// <summary>The transaction's id.</summary>
    public required string TransactionId { get; init; }

    /// <summary>When it happened, UTC.</summary>
    public DateTime Time { get; init; }

    /// <summary>The HTTP status the client got.</summary>
    public int? Status { get; init; }

    /// <summary>The error code, when it failed.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Which API: <c>chat.completions</c>, <c>responses</c>, <c>completions</c>, <c>passthrough</c>.</summary>
    public string? Api { get; init; }

    /// <summary>The request's method.</summary>
    public string? Method { get; init; }

    /// <summary>The request's path.</summary>
    public string? Path { get; init; }

    /// <summary>The model asked for.</summary>
    public string? Model { get; init; }

    /// <summary>Whether the answer was streamed.</summary>
    public bool? Stream { get; init; }

    /// <summary>What policies decided.</summary>
    public IReadOnlyList<(string Policy, string Action, string? Detail)> Decisions { get; init; } = [];

    /// <summary>Prompt tokens.</summary>
    public long? PromptTokens { get; init; }

    /// <summary>Completion tokens.</summary>
    public long? CompletionTokens { get; init; }

    /// <summary>Total tokens.</summary>
    public long? TotalTokens { get; init; }

    /// <summary>How long the transaction took, ms.</summary>
    public double? DurationMs { get; init; }

    /// <summary>When the stream's first chunk went out, ms after the start.</summary>
    public double? FirstChunkMs { get; init; }

    /// <summary>The client key's name.</summary>
    public string? KeyName { get; init; }

    /// <summary>The host's user.</summary>
    public string? User { get; init; }

    /// <summary>Reads an outcome row.</summary>
    /// <param name="row">The row.</param>
    public static TransactionOutcome From(TransactionLogRow row)
    {
        using var document = AdminJson.Parse(row.Data);
        var outcome = new TransactionOutcome { Id = row.Id, TransactionId = row.TransactionId, Time = row.Datetime };
        if (document is null || document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return outcome;
        }

        var data = document.RootElement;
        var usage = data.Get("usage") ?? default;
        var client = data.Get("client") ?? default;
        var decisions = new List<(string, string, string?)>();
        if (data.Get("decisions") is { ValueKind: JsonValueKind.Array } list)
        {
            foreach (var decision in list.EnumerateArray())
            {
                decisions.Add((decision.GetText("policy") ?? "?", decision.GetText("action") ?? "?", decision.GetText("detail")));
            }
        }

        var status = data.GetInteger("status");
        return outcome with
        {
            Status = status is >= 0 and <= 999 ? (int)status : null,
            ErrorCode = data.GetText("error_code"),
            Api = data.GetText("api"),
            Method = data.GetText("method"),
            Path = data.GetText("path"),
            Model = data.GetText("model"),
            Stream = data.GetBoolean("stream"),
            Decisions = decisions,
            PromptTokens = usage.GetInteger("prompt_tokens") ?? usage.GetInteger("input_tokens"),
            CompletionTokens = usage.GetInteger("completion_tokens") ?? usage.GetInteger("output_tokens"),
            TotalTokens = usage.GetInteger("total_tokens"),
            DurationMs = data.GetNumber("duration_ms"),
            FirstChunkMs = data.GetNumber("time_to_first_chunk_ms"),
            KeyName = client.GetText("key_name"),
            User = client.GetText("user"),
        };
    }

    /// <summary>A duration for people: <c>850 ms</c>, <c>12.3 ms</c>, <c>1.42 s</c>.</summary>
    /// <param name="milliseconds">The duration.</param>
    public static string FormatMs(double? milliseconds) => milliseconds switch
    {
        null => string.Empty,
        0 => "0 ms",
        < 10 => milliseconds.Value.ToString("0.0", CultureInfo.InvariantCulture) + " ms",
        < 1000 => milliseconds.Value.ToString("0", CultureInfo.InvariantCulture) + " ms",
        < 60_000 => (milliseconds.Value / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " s",
        _ => (milliseconds.Value / 60_000).ToString("0.0", CultureInfo.InvariantCulture) + " min",
    };

    /// <summary>A UTC time as the pages show it.</summary>
    /// <param name="utc">The time.</param>
    public static string FormatTime(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>The CSS class of a status: success, client error, server error, none.</summary>
    /// <param name="status">The status.</param>
    public static string StatusClass(int? status) => status switch
    {
        >= 200 and < 300 => "st st-ok",
        499 => "st st-gone",
        >= 400 and < 500 => "st st-warn",
        >= 500 => "st st-err",
        _ => "st",
    };
}
