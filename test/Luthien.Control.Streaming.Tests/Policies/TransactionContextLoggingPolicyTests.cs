using Luthien.Control.Streaming.Policies;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.Streaming.Tests.Policies;

public class TransactionContextLoggingPolicyTests
{
    [Test]
    public async Task ApplyAsync_RequestWithCredentials_LogsWithoutThem()
    {
        var logger = new ListLogger<TransactionContextLoggingPolicy>();
        var policy = new TransactionContextLoggingPolicy(LogLevel.Information, logger);
        var transaction = TestTransactions.ChatWithText("hello", ("Authorization", "Bearer client-secret-123"), ("api-key", "another-secret"));

        await policy.ApplyAsync(transaction, default);

        Assert.That(logger.Entries, Has.Count.EqualTo(1));
        var entry = logger.Entries[0];
        Assert.That(entry.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(entry.Message, Does.Contain(transaction.Id).And.Contain("gpt-4o"));
        Assert.That(entry.Message, Does.Not.Contain("client-secret-123").And.Not.Contain("another-secret"));
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
}
