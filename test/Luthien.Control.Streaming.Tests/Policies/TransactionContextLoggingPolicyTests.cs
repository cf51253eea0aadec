using Microsoft.Extensions.Logging;

namespace Luthien.Control.Streaming.Tests.Policies;

public class TransactionContextLoggingPolicyTests
{
    [Test]
    public void Constructor_NoLogger_Throws()
    {
        // A logging policy that cannot log would pass every test and log nothing: it must be given a logger.
        Assert.That(() => new TransactionContextLoggingPolicy(null!), Throws.ArgumentNullException.With.Property("ParamName").EqualTo("logger"));
    }

    [Test]
    public async Task ApplyAsync_RequestWithCredentials_LogsWithoutThem()
    {
        var logger = new ListLogger<TransactionContextLoggingPolicy>();
        var policy = new TransactionContextLoggingPolicy(logger, LogLevel.Information);
        var transaction = TestTransactions.ChatWithText("hello", ("Authorization", "Bearer client-secret-123"), ("api-key", "another-secret"));

        await policy.RunAsync(transaction);

        var entry = logger.Entries[0];
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(entry.Message, Does.Contain(transaction.Id).And.Contain("gpt-4o"));
        Assert.That(entry.Message, Does.Not.Contain("client-secret-123").And.Not.Contain("another-secret"));
    }

    [Test]
    public async Task ApplyAsync_Stream_LogsSummaryWithoutChangingChunks()
    {
        var logger = new ListLogger<TransactionContextLoggingPolicy>();
        var policy = new TransactionContextLoggingPolicy(logger, LogLevel.Information);
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        string[] upstream = [Chunks.Role(), Chunks.Content("Hello"), Chunks.Content(" you"), Chunks.Finish(), Chunks.Usage()];

        await policy.ApplyAsync(transaction, (t, _) =>
        {
            t.Response.SetStream(200, new ListStreamingIterator(upstream));
            return ValueTask.CompletedTask;
        }, default);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(chunks.Select(c => System.Text.Encoding.UTF8.GetString(c.Data.Span)), Is.EqualTo(upstream));
        Assert.That(logger.Entries, Has.Count.EqualTo(2));
        Assert.That(logger.Entries[1].Message, Does.Contain("stream completed").And.Contain("chunks=5").And.Contain("text_length=9")
            .And.Contain("finish_reasons=[stop]").And.Contain("prompt_tokens=3").And.Contain("completion_tokens=5"));
    }

    [Test]
    public async Task ApplyAsync_NonStreamingResponse_LogsSummary()
    {
        var logger = new ListLogger<TransactionContextLoggingPolicy>();
        var policy = new TransactionContextLoggingPolicy(logger, LogLevel.Information);
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"message":{"content":"abc"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"""u8.ToArray(), "application/json");

        await policy.RunAsync(transaction);

        Assert.That(logger.Entries[^1].Message, Does.Contain("status=200").And.Contain("text_length=3").And.Contain("finish_reasons=[length]").And.Contain("completion_tokens=2"));
    }

    [TestCase("INFO", LogLevel.Information)]
    [TestCase("Information", LogLevel.Information)]
    [TestCase("debug", LogLevel.Debug)]
    [TestCase("WARNING", LogLevel.Warning)]
    [TestCase("CRITICAL", LogLevel.Critical)]
    [TestCase(null, LogLevel.Information)]
    public void ParseLevel_Name_MapsToLevel(string? name, LogLevel expected)
    {
        Assert.That(TransactionContextLoggingPolicy.ParseLevel(name), Is.EqualTo(expected));
    }

    [Test]
    public void ParseLevel_Unknown_Throws()
    {
        Assert.Throws<ArgumentException>(() => TransactionContextLoggingPolicy.ParseLevel("LOUD"));
    }

    [Test]
    public async Task ProcessChunk_ChunkNotJson_CountedAndPassedOnAsItIs()
    {
        var logger = new ListLogger<TransactionContextLoggingPolicy>();
        var policy = new TransactionContextLoggingPolicy(logger, LogLevel.Information);
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Content("a"), "not json", Chunks.Finish()));

        await policy.RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(chunks.Select(c => System.Text.Encoding.UTF8.GetString(c.Data.Span)), Has.Member("not json"));
        Assert.That(logger.Entries[^1].Message, Does.Contain("stream completed").And.Contain("chunks=3"));
    }
}
