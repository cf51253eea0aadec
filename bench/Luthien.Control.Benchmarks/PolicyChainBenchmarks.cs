using BenchmarkDotNet.Attributes;

namespace Luthien.Control.Benchmarks;

/// <summary>The request side of a chain: parse the body, then auth, leaked-key check and model mapping.</summary>
[MemoryDiagnoser]
public class PolicyChainBenchmarks
{
    private static readonly byte[] Body = """
        {"model":"fast","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather like in Paris today? Please answer in one sentence."}],"temperature":0.2,"stream":false}
        """u8.ToArray();

    private readonly ControlPolicy _chain = new SerialPolicy(
    [
        new ClientApiKeyAuthPolicy(["client-key-1"]),
        new LeakedApiKeyDetectionPolicy(),
        new ModelNameReplacementPolicy(new Dictionary<string, string> { ["fast"] = "gpt-4o-mini" }),
        new NoopPolicy(),
    ]);

    private readonly HttpHeaderDictionary _headers = new() { ["Authorization"] = "Bearer client-key-1" };

    /// <summary>Parse the request body into a transaction.</summary>
    [Benchmark(Baseline = true)]
    public Transaction ParseOnly() => new(TransactionRequest.Parse(RequestKind.ChatCompletion, Body, _headers));

    /// <summary>Parse, run the request-side chain, serialize the body for the backend.</summary>
    [Benchmark]
    public async Task<int> ParseApplySerialize()
    {
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.ChatCompletion, Body, _headers));
        await _chain.RunAsync(transaction);
        return transaction.Request.ToUtf8Bytes().Length;
    }
}
