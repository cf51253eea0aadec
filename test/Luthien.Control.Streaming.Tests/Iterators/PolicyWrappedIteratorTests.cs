using System.Text;

namespace Luthien.Control.Streaming.Tests.Iterators;

public class PolicyWrappedIteratorTests
{
    /// <summary>Holds every chunk until it sees one containing "release", drops chunks containing "drop", completes on "stop".</summary>
    private sealed class ScriptedPolicy : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken)
        {
            var text = Encoding.UTF8.GetString(chunk.Data.Span);
            if (text.Contains("drop", StringComparison.Ordinal))
            {
                return ValueTask.CompletedTask;
            }

            context.Hold(chunk);
            if (text.Contains("release", StringComparison.Ordinal))
            {
                context.ReleaseHeld();
            }

            if (text.Contains("stop", StringComparison.Ordinal))
            {
                context.ReleaseHeld();
                context.Complete();
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class ThrowingPolicy : StreamingControlPolicy
    {
        protected override ValueTask ProcessChunkAsync(StreamChunk chunk, StreamingContext context, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("boom");
    }

    private static async Task<List<string>> RunAsync(StreamingControlPolicy policy, ListStreamingIterator upstream)
    {
        var transaction = TestTransactions.ChatWithText("hi");
        var chunks = await ListStreamingIterator.CollectAsync(new PolicyWrappedIterator(upstream, policy, transaction));
        return chunks.Select(c => Encoding.UTF8.GetString(c.Data.Span)).ToList();
    }

    [Test]
    public async Task Run_HoldDropRelease_EmitsInOrder()
    {
        var output = await RunAsync(new ScriptedPolicy(), new ListStreamingIterator("{\"a\":1}", "{\"drop\":1}", "{\"b\":1}", "{\"release\":1}", "{\"c\":1}"));

        // "c" was held and is released at the end of the stream.
        Assert.That(output, Is.EqualTo(new[] { "{\"a\":1}", "{\"b\":1}", "{\"release\":1}", "{\"c\":1}" }));
    }

    [Test]
    public async Task Run_Complete_StopsReadingAndDisposesUpstream()
    {
        var upstream = new ListStreamingIterator("{\"a\":1}", "{\"stop\":1}", "{\"never\":1}");

        var output = await RunAsync(new ScriptedPolicy(), upstream);

        Assert.That(output, Is.EqualTo(new[] { "{\"a\":1}", "{\"stop\":1}" }));
        Assert.That(upstream.Read, Is.EqualTo(2));
        Assert.That(upstream.Disposed, Is.True);
    }

    [Test]
    public async Task Run_UpstreamErrorEvent_PassesUntouched()
    {
        var output = await RunAsync(new ThrowingPolicy(), new ListStreamingIterator("{\"error\":{\"message\":\"x\"}}"));

        Assert.That(output, Is.EqualTo(new[] { "{\"error\":{\"message\":\"x\"}}" }));
    }

    [Test]
    public void Run_PolicyThrows_Propagates()
    {
        Assert.ThrowsAsync<InvalidOperationException>(async () => await RunAsync(new ThrowingPolicy(), new ListStreamingIterator("{\"a\":1}")));
    }

    [Test]
    public void Run_HoldOverLimit_Throws()
    {
        var policy = new ScriptedPolicy { MaxHeldChunks = 2 };

        var ex = Assert.CatchAsync<ControlException>(async () => await RunAsync(policy, new ListStreamingIterator("{}", "{}", "{}")));

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.PolicyFailure));
        Assert.That(ex.Message, Does.Contain("limit of 2"));
    }

    [Test]
    public void Run_HeldBytesOverLimit_Throws()
    {
        // Few chunks, but large ones: the chunk count alone would let a backend make a policy hold 1024 x 1 MiB.
        var big = $"{{\"pad\":\"{new string('x', 10_000)}\"}}";
        var policy = new ScriptedPolicy { MaxHeldChunks = 1024, MaxHeldBytes = 32 * 1024 };

        var ex = Assert.CatchAsync<ControlException>(async () => await RunAsync(policy, new ListStreamingIterator(big, big, big, big, big)));

        Assert.That(ex!.Code, Is.EqualTo("policy_error"));
        Assert.That(ex.Message, Does.Contain("limit of 32768 bytes"));
    }

    [Test]
    public async Task Run_HeldBytesReleasedBeforeLimit_DoNotAddUp()
    {
        var big = $"{{\"pad\":\"{new string('x', 10_000)}\",\"release\":1}}";
        var policy = new ScriptedPolicy { MaxHeldBytes = 16 * 1024 };

        var chunks = await RunAsync(policy, new ListStreamingIterator(big, big, big, big));

        Assert.That(chunks, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task Run_TwoPolicies_ComposeInChainOrder()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Content("SECRET-123456"), Chunks.Finish()));
        await new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "SECRET-000000").RunAsync(transaction);
        await new ResponseContentPolicy(["SECRET-000000"], ContentAction.Redact, "[R]").RunAsync(transaction);

        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        // The first policy's output feeds the second.
        Assert.That(Chunks.Text(chunks), Is.EqualTo("[R]"));
    }
}
