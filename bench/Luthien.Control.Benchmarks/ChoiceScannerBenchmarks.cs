using System.Text;
using BenchmarkDotNet.Attributes;
using Luthien.Control.Streaming;

namespace Luthien.Control.Benchmarks;

/// <summary>The forward-only read of one chunk's choices that the response policies do before deciding anything.</summary>
[MemoryDiagnoser]
public class ChoiceScannerBenchmarks
{
    private readonly List<ChoiceDelta> _choices = [];
    private readonly List<(int Choice, int Call)> _calls = [];
    private byte[] _text = null!;

    [GlobalSetup]
    public void Setup() => _text = Encoding.UTF8.GetBytes(
        "{" + StreamFixture.Head + ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"quick \"},\"logprobs\":null,\"finish_reason\":null}]}");

    private readonly ChunkShapeCache _shapes = new();

    /// <summary>A typical content chunk, read in full (the first chunk of a stream).</summary>
    [Benchmark(Baseline = true)]
    public bool ScanContent() => ChoiceScanner.TryScan(_text, _choices, null, out _);

    /// <summary>The same chunk again in its stream: read by its remembered shape, only the text string decoded.</summary>
    [Benchmark]
    public bool ScanContentKnownShape() => ChoiceScanner.TryScan(_text, _choices, _shapes, out _);

    /// <summary>The tool-call listing on the same chunk, prefix remembered.</summary>
    [Benchmark]
    public bool ScanToolCallsKnownPrefix() => ChoiceScanner.TryScanToolCalls(_text, _calls, _shapes);
}
