using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Luthien.Control.Sqlite;

namespace Luthien.Control.Benchmarks;

/// <summary>
/// The audit log's work per transaction, for the answers bench/e2e.sh sends (50 content chunks): on the request path
/// the stream's transcript (<see cref="StreamTranscript.Add"/> per event), on the writer's thread the three masked rows
/// (<see cref="AuditRows.Build"/>) and their share of an SQLite batch (500 transactions, 1,500 rows, one database
/// transaction, as the writer writes under load).
/// </summary>
[MemoryDiagnoser]
public class AuditBenchmarks
{
    private const string Head = "\"id\":\"chatcmpl-bench0000000000000000000001\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_bench\"";
    private static readonly string[] Words = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. "];

    private readonly AuditMask _mask = new([]);
    private readonly ArrayBufferWriter<byte> _assembled = new(64 * 1024);
    private Utf8JsonWriter _assembledWriter = null!;
    private byte[][] _chatEvents = null!;
    private byte[][] _responsesEvents = null!;
    private AuditRecord _chatStream = null!;
    private AuditRecord _responsesStream = null!;
    private AuditRecord _buffered = null!;
    private TransactionLogRow[] _batch = null!;
    private SqliteControlStore _store = null!;
    private string _file = null!;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        var chat = new List<byte[]> { Encoding.UTF8.GetBytes($"{{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}") };
        for (var i = 0; i < 50; i++)
        {
            chat.Add(Encoding.UTF8.GetBytes($"{{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{Words[i % Words.Length]}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}"));
        }

        chat.Add(Encoding.UTF8.GetBytes($"{{{Head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}"));
        _chatEvents = [.. chat];
        _assembledWriter = new Utf8JsonWriter(_assembled);
        _responsesEvents = [.. Encoding.UTF8.GetString(StreamFixture.ResponsesStream(50)).Split("\n")
            .Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => Encoding.UTF8.GetBytes(l[6..]))];

        var text = string.Concat(Enumerable.Range(0, 50).Select(i => Words[i % Words.Length]));
        var completion = Encoding.UTF8.GetBytes(
            $"{{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":50,\"total_tokens\":60}}}}");
        _chatStream = Record("chat.completions", true, """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Tell me about foxes."}]}""", null, Transcript(_chatEvents));
        _responsesStream = Record("responses", true, """{"model":"gpt-4o-mini","stream":true,"input":"Tell me about foxes."}""", null, Transcript(_responsesEvents));
        _buffered = Record("chat.completions", false, """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tell me about foxes."}]}""", completion, null);

        // A batch as the writer makes it under load: half chat streams, half buffered answers.
        var rows = new List<TransactionLogRow>();
        for (var i = 0; i < 500; i++)
        {
            rows.AddRange(AuditRows.Build(i % 2 == 0 ? _chatStream : _buffered, _mask));
        }

        _batch = [.. rows];
        _file = Path.Combine(Path.GetTempPath(), $"luthien-bench-{Environment.ProcessId}.db");
        _store = new SqliteControlStore($"Data Source={_file}");
        _store.InitializeAsync(default).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var suffix in (string[])["", "-wal", "-shm"])
        {
            File.Delete(_file + suffix);
        }
    }

    /// <summary>The request path's share of a chat stream: each event's data copied into the transcript, and its time.</summary>
    [Benchmark]
    public int CaptureChatStream()
    {
        using var transcript = Transcript(_chatEvents);
        return transcript.Events;
    }

    /// <summary>The rows of a chat stream (50 content chunks).</summary>
    [Benchmark]
    public int BuildChatStream() => Length(AuditRows.Build(_chatStream, _mask));

    /// <summary>Part of <see cref="BuildChatStream"/>: the chat stream's events put back together as one answer, masked.</summary>
    [Benchmark]
    public long AssembleChatStream() => Assemble("chat.completions", _chatStream);

    /// <summary>Part of <see cref="BuildResponsesStream"/>: the Responses stream's events put back together as one answer, masked.</summary>
    [Benchmark]
    public long AssembleResponsesStream() => Assemble("responses", _responsesStream);

    /// <summary>The rows of a Responses stream (50 deltas and OpenAI's repeats).</summary>
    [Benchmark]
    public int BuildResponsesStream() => Length(AuditRows.Build(_responsesStream, _mask));

    /// <summary>The rows of a non-streaming chat completion.</summary>
    [Benchmark]
    public int BuildBuffered() => Length(AuditRows.Build(_buffered, _mask));

    /// <summary>One batch of 500 transactions (1,500 rows) into SQLite; divide by 500 for a transaction's share.</summary>
    [Benchmark(OperationsPerInvoke = 500)]
    public async Task WriteBatch()
    {
        // Fresh transaction ids each time: the table's unique index would otherwise turn the rows into no-ops.
        var round = Interlocked.Increment(ref _round);
        var rows = _batch.Select(r => r with { TransactionId = $"{r.TransactionId}-{round}" }).ToList();
        await _store.WriteAsync(rows, default);
    }

    private static StreamTranscript Transcript(byte[][] events)
    {
        var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024 * 1024);
        foreach (var data in events)
        {
            transcript.Add(data);
        }

        return transcript;
    }

    private static AuditRecord Record(string api, bool stream, string request, byte[]? response, StreamTranscript? transcript) => new()
    {
        TransactionId = Guid.NewGuid().ToString("N"),
        StartedAt = DateTime.UtcNow,
        EndedAt = DateTime.UtcNow,
        Api = api,
        Method = "POST",
        Path = api == "responses" ? "responses" : "chat/completions",
        Model = "gpt-4o-mini",
        Stream = stream,
        Headers = new Dictionary<string, string> { ["Host"] = "127.0.0.1:5409", ["Content-Type"] = "application/json; charset=utf-8", ["Content-Length"] = "99" },
        RequestBody = Encoding.UTF8.GetBytes(request),
        RequestBodyBytes = request.Length,
        Status = 200,
        DurationMs = 41.367,
        ResponseBody = response,
        Transcript = transcript,
    };

    private long Assemble(string api, AuditRecord record)
    {
        // One buffer and writer for every run, as the log writer keeps its own: only the assembly's cost is measured.
        _assembled.ResetWrittenCount();
        _assembledWriter.Reset(_assembled);
        StreamAssembler.Write(_assembledWriter, api, record.Transcript!.EventData(), _mask);
        _assembledWriter.Flush();
        return _assembledWriter.BytesCommitted;
    }

    private static int Length(TransactionLogRow[] rows) => rows.Sum(r => r.Data?.Length ?? 0);
}
