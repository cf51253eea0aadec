using BenchmarkDotNet.Attributes;
using Luthien.Control.Streaming;

namespace Luthien.Control.Benchmarks;

/// <summary>
/// One streamed answer of <see cref="Chunks"/> content chunks (about 230 bytes each) through reader → policies → writer.
/// Divide the allocations by the chunk count for bytes per chunk; divide the body size by the mean for throughput.
/// </summary>
[MemoryDiagnoser]
public class StreamingBenchmarks
{
    private byte[] _text = null!;
    private byte[] _tools = null!;
    private byte[] _responses = null!;
    private ResponseContentPolicy _redact = null!;
    private ToolCallPolicy _toolPolicy = null!;

    [Params(1000)]
    public int Chunks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _text = StreamFixture.TextStream(Chunks);
        _tools = StreamFixture.ToolStream(Chunks);
        _responses = StreamFixture.ResponsesStream(Chunks);
        _redact = new ResponseContentPolicy(["sk-[A-Za-z0-9]{20,}", "SECRET-[0-9]{6}"], ContentAction.Redact);
        _toolPolicy = new ToolCallPolicy(["get_weather"]);
        Console.WriteLine($"// text stream: {_text.Length} bytes, tool stream: {_tools.Length} bytes, Responses stream: {_responses.Length} bytes, {Chunks} content chunks");
    }

    /// <summary>The SSE reader alone: parse every event, copy its bytes into a pooled buffer, release it.</summary>
    [Benchmark]
    public async Task<int> ReadOnly()
    {
        var count = 0;
        await using var iterator = new RawSseStreamingIterator(new MemoryStream(_text, writable: false), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 1 << 20, TimeProvider.System);
        await foreach (var chunk in iterator)
        {
            count += chunk.Data.Length;
            chunk.Release();
        }

        return count;
    }

    /// <summary>The SSE reader alone on the Responses stream (events with <c>event:</c> lines).</summary>
    [Benchmark]
    public async Task<int> ResponsesReadOnly()
    {
        var count = 0;
        await using var iterator = new RawSseStreamingIterator(new MemoryStream(_responses, writable: false), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 1 << 20, TimeProvider.System) { EndsAtLastEvent = true };
        await foreach (var chunk in iterator)
        {
            count += chunk.Data.Length;
            chunk.Release();
        }

        return count;
    }

    /// <summary>Pass-through: read and write canonical SSE, no policy.</summary>
    [Benchmark(Baseline = true)]
    public Task<int> PassThrough() => StreamFixture.RunAsync(_text);

    /// <summary>ResponseContentPolicy (redact, two patterns) on a text stream.</summary>
    [Benchmark]
    public Task<int> ContentPolicy() => StreamFixture.RunAsync(_text, _redact);

    /// <summary>ToolCallPolicy on a text stream (the common case: nothing to judge).</summary>
    [Benchmark]
    public Task<int> ToolPolicyOnText() => StreamFixture.RunAsync(_text, _toolPolicy);

    /// <summary>ToolCallPolicy on a stream of tool-call fragments.</summary>
    [Benchmark]
    public Task<int> ToolPolicyOnToolCalls() => StreamFixture.RunAsync(_tools, _toolPolicy);

    /// <summary>Content and tool policies together.</summary>
    [Benchmark]
    public Task<int> ContentAndToolPolicies() => StreamFixture.RunAsync(_text, _redact, _toolPolicy);

    /// <summary>Pass-through of the same answer through the Responses API (its events, with their repeats), no policy.</summary>
    [Benchmark]
    public Task<int> ResponsesPassThrough() => StreamFixture.RunResponsesAsync(_responses);

    /// <summary>ResponseContentPolicy on the Responses stream: its deltas read without a tree, its repeats kept consistent.</summary>
    [Benchmark]
    public Task<int> ResponsesContentPolicy() => StreamFixture.RunResponsesAsync(_responses, _redact);

    /// <summary>Content and tool policies together on the Responses stream.</summary>
    [Benchmark]
    public Task<int> ResponsesContentAndToolPolicies() => StreamFixture.RunResponsesAsync(_responses, _redact, _toolPolicy);
}
