using System.Text;

namespace Luthien.Control.Streaming.Tests.Iterators;

public class BufferingStreamingIteratorTests
{
    [Test]
    public async Task PeekAsync_ThenEnumerate_ReplaysPeekedChunksFirst()
    {
        var upstream = new ListStreamingIterator("{\"n\":1}", "{\"n\":2}", "{\"n\":3}");
        var buffering = new BufferingStreamingIterator(upstream, 8);

        var peeked = await buffering.PeekAsync(2);
        var all = await ListStreamingIterator.CollectAsync(buffering);

        Assert.That(peeked.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}" }));
        Assert.That(all.Select(c => Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}" }));
        Assert.That(upstream.Disposed, Is.True);
    }

    [Test]
    public async Task PeekAsync_PastEnd_ReturnsWhatThereIs()
    {
        var buffering = new BufferingStreamingIterator(new ListStreamingIterator("{}"), 8);

        var peeked = await buffering.PeekAsync(5);

        Assert.That(peeked, Has.Count.EqualTo(1));
        Assert.That(await ListStreamingIterator.CollectAsync(buffering), Has.Count.EqualTo(1));
    }

    [Test]
    public void PeekAsync_OverLimit_Throws()
    {
        var buffering = new BufferingStreamingIterator(new ListStreamingIterator("{}"), 2);

        var ex = Assert.CatchAsync<ControlException>(async () => await buffering.PeekAsync(3));

        Assert.That(ex!.Kind, Is.EqualTo(ControlErrorKind.PolicyFailure));
    }

    [Test]
    public async Task PeekAsync_ReadsOnlyWhatItNeeds()
    {
        var upstream = new ListStreamingIterator("{}", "{}", "{}", "{}");
        var buffering = new BufferingStreamingIterator(upstream, 8);

        await buffering.PeekAsync(2);

        Assert.That(upstream.Read, Is.EqualTo(2));
    }

    [Test]
    public async Task PeekAsync_MadeForTheTransaction_ChunksReadAsEvents()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("I can't"), Chunks.Finish()));
        var buffering = new BufferingStreamingIterator(transaction, 8);

        var start = await buffering.PeekAsync(2);

        Assert.That(start[1].Output.Single().Text, Is.EqualTo("I can't"));
        await buffering.DisposeAsync();
    }

    [Test]
    public async Task Output_ChunkThatNeverEnteredThePolicies_Throws()
    {
        var buffering = new BufferingStreamingIterator(new ListStreamingIterator(Chunks.Content("x")), 8);

        var start = await buffering.PeekAsync(1);

        Assert.Throws<InvalidOperationException>(() => _ = start[0].Output);
        await buffering.DisposeAsync();
    }
}
