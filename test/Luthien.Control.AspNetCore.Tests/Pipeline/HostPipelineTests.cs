using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Luthien.Control.AspNetCore.Tests.Infrastructure.TestChunks;

namespace Luthien.Control.AspNetCore.Tests.Pipeline;

public class HostPipelineTests
{
    [Test]
    public async Task RunAsync_StepsAroundTheRoot_RootSeesTheUsageRequestAndTheClientNeitherSeesNorCountsTheChunk()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var root = new StreamingRoot(new TestChunks(Content("a"), Content("b"), Usage()));
        var pipeline = new HostPipeline(() => root, new TelemetryStep(telemetry.Metrics, new FakeTimeProvider()), new UsageStep(TestExchange.Monitor(), telemetry.Metrics));
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""")));

        await pipeline.RunAsync(transaction, CancellationToken.None);
        var received = await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(root.SawUsageRequested, Is.True, "the usage step runs before the root");
        Assert.That(received, Is.EqualTo(new[] { Content("a"), Content("b") }));
        Assert.That(telemetry.Of("luthien.stream.chunks").Single().Value, Is.EqualTo(2), "telemetry measures what the client gets");
        Assert.That(telemetry.Of("gen_ai.client.token.usage"), Has.Count.EqualTo(2), "the usage step still read the chunk it hid");
    }

    private sealed class StreamingRoot(TestChunks stream) : ControlPolicy
    {
        public bool SawUsageRequested { get; private set; }

        public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
        {
            SawUsageRequested = transaction.Request.IncludeUsage;
            transaction.Response.SetStream(200, stream);
            return next(transaction, cancellationToken);
        }
    }
}
