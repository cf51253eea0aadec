using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Audit;

public sealed class AuditRowsTests
{
    private static readonly AuditMask Mask = new([]);

    private static AuditRecord Record(Func<AuditRecord, AuditRecord>? change = null)
    {
        var record = new AuditRecord
        {
            TransactionId = "ltx-1",
            StartedAt = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc),
            EndedAt = new DateTime(2026, 11, 25, 10, 0, 1, DateTimeKind.Utc),
            Api = "chat.completions",
            Method = "POST",
            Path = "chat/completions",
            Model = "fast",
            BackendModel = "gpt-4o-mini",
            Status = 200,
            DurationMs = 12.5,
            RequestBody = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""),
            ResponseBody = Encoding.UTF8.GetBytes("""{"choices":[{"index":0,"message":{"content":"hello"}}]}"""),
            Decisions = [new PolicyDecision("ModelNameReplacement", "replace", "fast -> gpt-4o-mini")],
            Usage = JsonNode.Parse("""{"input_tokens":3,"output_tokens":4,"total_tokens":7}""")!.AsObject(),
            Client = new ClientIdentity { KeyName = "team-a", UserName = "alice" },
        };
        return change is null ? record : change(record);
    }

    /// <summary>A record with only what every record has, and what a test gives it (a transcript makes it a chat stream).</summary>
    private static AuditRecord Bare(
        int status = 200,
        byte[]? request = null,
        byte[]? response = null,
        Dictionary<string, string>? headers = null,
        StreamTranscript? transcript = null,
        string? errorCode = null) => new()
    {
        TransactionId = "ltx-1",
        StartedAt = new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc),
        EndedAt = new DateTime(2026, 11, 25, 10, 0, 1, DateTimeKind.Utc),
        Method = "POST",
        Path = "chat/completions",
        Status = status,
        DurationMs = 1,
        RequestBody = request,
        ResponseBody = response,
        Headers = headers,
        Transcript = transcript,
        Api = transcript is null ? null : "chat.completions",
        Stream = transcript is not null,
        ErrorCode = errorCode,
    };

    private static JsonObject Data(TransactionLogRow row) => JsonNode.Parse(row.Data!)!.AsObject();

    [Test]
    public void Build_Record_RequestResponseOutcomeRows()
    {
        var rows = AuditRows.Build(Record(), Mask);

        Assert.That(rows.Select(r => r.Datatype), Is.EqualTo(new[] { "request", "response", "outcome" }));
        Assert.That(rows.Select(r => r.TransactionId), Is.All.EqualTo("ltx-1"));
        Assert.That(rows[0].Datetime, Is.EqualTo(new DateTime(2026, 11, 25, 10, 0, 0, DateTimeKind.Utc)));
    }

    [Test]
    public void Build_Outcome_HasContractFields()
    {
        var outcome = Data(AuditRows.Build(Record(), Mask)[2]);

        Assert.That((int?)outcome["status"], Is.EqualTo(200));
        Assert.That(outcome["error_code"], Is.Null);
        Assert.That((string?)outcome["decisions"]![0]!["policy"], Is.EqualTo("ModelNameReplacement"));
        Assert.That((string?)outcome["decisions"]![0]!["action"], Is.EqualTo("replace"));
        Assert.That((double?)outcome["duration_ms"], Is.EqualTo(12.5));
        Assert.That((string?)outcome["client"]!["key_name"], Is.EqualTo("team-a"));
        Assert.That((string?)outcome["client"]!["user"], Is.EqualTo("alice"));
        Assert.That((string?)outcome["model"], Is.EqualTo("fast"));
        Assert.That((string?)outcome["backend_model"], Is.EqualTo("gpt-4o-mini"));
    }

    [Test]
    public void Build_ResponsesUsage_NamedAsChat()
    {
        var usage = Data(AuditRows.Build(Record(), Mask)[2])["usage"]!;

        Assert.That((long?)usage["prompt_tokens"], Is.EqualTo(3));
        Assert.That((long?)usage["completion_tokens"], Is.EqualTo(4));
        Assert.That((long?)usage["total_tokens"], Is.EqualTo(7));
    }

    [Test]
    public void Build_BufferedAnswerWithUsage_UsageFromItsBody()
    {
        var record = Bare(response: Encoding.UTF8.GetBytes("""{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}"""));

        var usage = Data(AuditRows.Build(record, Mask)[2])["usage"]!;

        Assert.That((long?)usage["total_tokens"], Is.EqualTo(11));
    }

    [TestCase("""{"usage":{"prompt_tokens":5.5,"completion_tokens":"6","total_tokens":11}}""", null, null, 11L)]
    [TestCase("""{"usage":{"input_tokens":5,"output_tokens":6,"total_tokens":11}}""", 5L, 6L, 11L)]
    [TestCase("""{"usage":{"prompt_tokens":null,"input_tokens":5}}""", null, null, null)]
    [TestCase("""{"usage":{"total_tokens":1},"usage":{"total_tokens":2}}""", null, null, 2L)]
    public void Build_BufferedUsage_WholeNumbersOnly(string body, long? prompt, long? completion, long? total)
    {
        var record = Bare(response: Encoding.UTF8.GetBytes(body));

        var usage = Data(AuditRows.Build(record, Mask)[2])["usage"]!;

        Assert.That((long?)usage["prompt_tokens"], Is.EqualTo(prompt));
        Assert.That((long?)usage["completion_tokens"], Is.EqualTo(completion));
        Assert.That((long?)usage["total_tokens"], Is.EqualTo(total));
    }

    [Test]
    public void Build_BufferedBodyNotJson_NoUsage()
    {
        var record = Bare(response: Encoding.UTF8.GetBytes("""{"usage":{"total_tokens":1}} trailing"""));

        Assert.That(Data(AuditRows.Build(record, Mask)[2])["usage"], Is.Null);
    }

    [Test]
    public void Build_AnswerRepeatingAName_StoredAsItCame()
    {
        // A backend's answer is stored as the client got it, a repeated name included (nothing of it is lost).
        var record = Bare(status: 400, response: Encoding.UTF8.GetBytes("""{"error":{"message":"a"},"error":{"message":"b"}}"""));

        Assert.That(AuditRows.Build(record, Mask)[1].Data, Does.Contain("""{"error":{"message":"a"},"error":{"message":"b"}}"""));
    }

    [Test]
    public void Build_StreamTimeline_MillisecondsAsNumbersToTheMicrosecond()
    {
        var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024);
        transcript.Add("{}"u8);
        var record = Bare(transcript: transcript);

        var timeline = Data(AuditRows.Build(record, Mask)[1])["timeline"]!.AsArray();

        var ms = timeline[0]![0]!.GetValue<double>();
        Assert.That(ms, Is.EqualTo(transcript.Timeline[0].Ms).Within(0.0005));
        Assert.That(ms, Is.GreaterThan(0));
        Assert.That(timeline[0]![1]!.GetValue<int>(), Is.EqualTo(2));
    }

    [TestCase(0.0, "0")]
    [TestCase(12.0, "12")]
    [TestCase(12.3, "12.3")]
    [TestCase(12.34, "12.34")]
    [TestCase(12.345, "12.345")]
    [TestCase(0.005, "0.005")]
    [TestCase(1234567.0704, "1234567.07")]
    public void WriteMilliseconds_Value_ShortestThreeDecimals(double ms, string expected)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            AuditRows.WriteMilliseconds(writer, ms);
        }

        Assert.That(Encoding.UTF8.GetString(buffer.WrittenSpan), Is.EqualTo(expected));
    }

    [Test]
    public void Build_SecretInRequestAndAnswer_Masked()
    {
        const string secret = "sk-abcdefghijklmnopqrstuvwxyz012345";
        var record = Bare(
            request: Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"key {{secret}}"}]}"""),
            response: Encoding.UTF8.GetBytes($$$"""{"choices":[{"message":{"content":"{{{secret}}}"}}]}"""),
            headers: new Dictionary<string, string> { ["x-note"] = secret });

        var rows = AuditRows.Build(record, Mask);

        Assert.That(rows.Select(r => r.Data), Has.None.Contains("abcdefghijklmnop"));
    }

    [Test]
    public void Build_RequestNotJson_NotStoredAndSaid()
    {
        var record = Bare(status: 400, request: "{nope"u8.ToArray(), errorCode: "invalid_request");

        var request = Data(AuditRows.Build(record, Mask)[0]);

        Assert.That(request["body"], Is.Null);
        Assert.That((string?)request["body_note"], Does.Contain("not JSON"));
    }

    [Test]
    public void Build_Stream_AssembledWithTimeline()
    {
        var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 4096);
        transcript.Add("""{"choices":[{"index":0,"delta":{"content":"a"}}]}"""u8);
        transcript.Add("""{"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}"""u8);
        var record = Bare(transcript: transcript);

        var rows = AuditRows.Build(record, Mask);
        var response = Data(rows[1]);
        var outcome = Data(rows[2]);
        record.Dispose();

        Assert.That((string?)response["assembled"]!["choices"]![0]!["message"]!["content"], Is.EqualTo("ab"));
        Assert.That((int?)response["events"], Is.EqualTo(2));
        Assert.That(response["timeline"]!.AsArray(), Has.Count.EqualTo(2));
        Assert.That(outcome["time_to_first_chunk_ms"], Is.Not.Null);
    }

    [Test]
    public void Build_KeyAsHeaderName_Masked()
    {
        const string key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
        var rows = AuditRows.Build(Bare(headers: new Dictionary<string, string> { [key] = "1", ["x-trace"] = "t" }), Mask);

        Assert.That(rows[0].Data, Does.Not.Contain("abcdefghijklmnop"));
        Assert.That(Data(rows[0])["headers"]!["x-trace"]!.GetValue<string>(), Is.EqualTo("t"));
    }

    [Test]
    public void Build_TwoHeaderNamesMaskedAlike_BothKept()
    {
        var rows = AuditRows.Build(Bare(headers: new Dictionary<string, string>
            {
                ["sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"] = "1",
                ["sk-proj-bbcdefghijklmnopqrstuvwxyz0123456789"] = "2",
                ["[redacted]"] = "3",
            }), Mask);

        using var document = JsonDocument.Parse(rows[0].Data!, new JsonDocumentOptions { AllowDuplicateProperties = false });
        var headers = document.RootElement.GetProperty("headers").EnumerateObject().Select(p => p.Value.GetString());
        Assert.That(headers, Is.EquivalentTo(new[] { "1", "2", "3" }));
        Assert.That(rows[0].Data, Does.Not.Contain("abcdefghijklmnop"));
    }

    [TestCase("""{"error":{"message":"a"},"error":{"message":"b"}}""")]
    [TestCase("""{"error":{"message":"\ud800"}}""")]
    public void Build_BackendErrorBodyTheParserReadsOnlyLazily_RowsStillBuilt(string body)
    {
        // A backend's error answer is passed on unvalidated: a repeated name or a lone surrogate must not cost the record.
        var rows = AuditRows.Build(Bare(status: 400, response: Encoding.UTF8.GetBytes(body)), Mask);

        Assert.That(rows, Has.Length.EqualTo(3));
        Assert.That((int?)Data(rows[2])["status"], Is.EqualTo(400));
    }
}
