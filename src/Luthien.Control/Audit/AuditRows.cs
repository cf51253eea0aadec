using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// Turns a finished transaction's <see cref="AuditRecord"/> into its three <c>luthien_log</c> rows — <c>request</c>,
/// <c>response</c>, <c>outcome</c> — with every secret masked. Runs on the log writer's thread, never on a request's.
/// </summary>
internal static class AuditRows
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    /// <summary>The rows of one transaction.</summary>
    /// <param name="record">The transaction's record.</param>
    /// <param name="mask">What secrets look like.</param>
    public static TransactionLogRow[] Build(AuditRecord record, AuditMask mask)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(mask);
        var response = Response(record, mask, out var body);

        // A buffered answer's usage is in its body, read here once for both rows (not on the request's thread).
        var usage = record.Usage ?? (record.Transcript is null && record.Status is >= 200 and < 300 ? body?["usage"] as JsonObject : null);
        return
        [
            new(record.TransactionId, record.StartedAt, TransactionLogRow.Request, Request(record, mask)),
            new(record.TransactionId, record.EndedAt, TransactionLogRow.Response, response),
            new(record.TransactionId, record.EndedAt, TransactionLogRow.Outcome, Outcome(record, usage, mask)),
        ];
    }

    private static string Request(AuditRecord record, AuditMask mask)
    {
        var headers = new JsonObject();
        foreach (var (name, value) in record.Headers ?? new Dictionary<string, string>())
        {
            headers[name.ToLowerInvariant()] = mask.Apply(value);
        }

        var row = new JsonObject
        {
            ["api"] = record.Api,
            ["method"] = record.Method,
            ["path"] = mask.Apply(record.Path),
            ["model"] = Masked(mask, record.Model),
            ["stream"] = record.Stream,
            ["headers"] = mask.Apply(headers),
            ["body"] = Body(record.RequestBody, mask, out var unreadable),
            ["body_bytes"] = record.RequestBodyBytes,
            ["truncated"] = record.RequestTruncated,
        };
        if (unreadable)
        {
            row["body_note"] = "not JSON; not stored";
        }
        else if (record.RequestBodyWithheld)
        {
            row["body_note"] = "not stored: the client was not authenticated";
        }

        return row.ToJsonString(Compact);
    }

    private static string Response(AuditRecord record, AuditMask mask, out JsonNode? body)
    {
        body = null;
        var row = new JsonObject { ["status"] = record.Status };
        if (record.Transcript is { } transcript)
        {
            row["stream"] = true;
            row["assembled"] = mask.Apply(StreamAssembler.Assemble(record.Api, transcript.EventData()));
            row["events"] = transcript.Events;
            var timeline = new JsonArray();
            foreach (var (ms, bytes) in transcript.Timeline)
            {
                timeline.Add(new JsonArray(ms, bytes));
            }

            row["timeline"] = timeline;
            row["truncated"] = transcript.Truncated;
        }
        else
        {
            row["body"] = body = Body(record.ResponseBody, mask, out _);
            row["truncated"] = record.ResponseTruncated;
        }

        return row.ToJsonString(Compact);
    }

    private static string Outcome(AuditRecord record, JsonObject? reportedUsage, AuditMask mask)
    {
        var decisions = new JsonArray();
        foreach (var decision in record.Decisions)
        {
            decisions.Add(new JsonObject
            {
                ["policy"] = decision.Policy,
                ["action"] = decision.Action,
                ["detail"] = Masked(mask, decision.Detail),
            });
        }

        JsonObject? usage = null;
        if (reportedUsage is { } reported)
        {
            // Chat and legacy name them prompt/completion, the Responses API input/output: the row says both one way.
            usage = new JsonObject
            {
                ["prompt_tokens"] = Tokens(reported, "prompt_tokens", "input_tokens"),
                ["completion_tokens"] = Tokens(reported, "completion_tokens", "output_tokens"),
                ["total_tokens"] = Tokens(reported, "total_tokens", "total_tokens"),
            };
        }

        var row = new JsonObject
        {
            ["status"] = record.Status,
            ["error_code"] = record.ErrorCode,
            ["api"] = record.Api,
            ["method"] = record.Method,
            ["path"] = mask.Apply(record.Path),
            ["model"] = Masked(mask, record.Model),
            ["backend_model"] = Masked(mask, record.BackendModel),
            ["stream"] = record.Stream,
            ["decisions"] = decisions,
            ["usage"] = usage,
            ["duration_ms"] = Math.Round(record.DurationMs, 3),
            ["time_to_first_chunk_ms"] = record.Transcript?.FirstEventMs is { } first ? Math.Round(first, 3) : null,
            ["client"] = new JsonObject
            {
                ["key_name"] = Masked(mask, record.Client?.KeyName),
                ["user"] = Masked(mask, record.Client?.UserName),
            },
        };
        return row.ToJsonString(Compact);
    }

    private static JsonNode? Body(byte[]? body, AuditMask mask, out bool unreadable)
    {
        unreadable = false;
        if (body is null || body.Length == 0)
        {
            return null;
        }

        // The library's own reading (no repeated names, no lone surrogates): JsonNode.Parse accepts both and then throws
        // on first use, which would cost the whole record. A backend's error answer is never validated before this.
        if (JsonHygiene.ReadNode(body, out var node) != JsonFault.None)
        {
            unreadable = true;
            return null;
        }

        return mask.Apply(node);
    }

    private static long? Tokens(JsonObject usage, string name, string other) =>
        (usage[name] ?? usage[other]) is JsonValue value && value.TryGetValue<long>(out var tokens) ? tokens : null;

    private static string? Masked(AuditMask mask, string? text) => text is null ? null : mask.Apply(text);
}
