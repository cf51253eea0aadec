using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Policies;

public sealed class IncrementIntegersPolicyTests
{
    [TestCase("3 apples", "4 apples")]
    [TestCase("-1 and -5", "0 and -4")]
    [TestCase("9, 99, 199", "10, 100, 200")]
    [TestCase("007", "8")]
    [TestCase("-0", "1")]
    [TestCase("-10", "-9")]
    [TestCase("-100", "-99")]
    [TestCase("x-1", "x0")]
    [TestCase("no numbers", "no numbers")]
    [TestCase("99999999999999999999999999999", "100000000000000000000000000000")]
    public void Increment_Text_EveryIntegerPlusOneAsPythonInts(string text, string expected)
    {
        Assert.That(IncrementIntegersPolicy.Increment(text), Is.EqualTo(expected));
    }

    [Test]
    public void Increment_MegabyteOfDigits_Linear()
    {
        var digits = new string('9', 1024 * 1024);

        var result = IncrementIntegersPolicy.Increment(digits);

        Assert.That(result, Has.Length.EqualTo(digits.Length + 1));
        Assert.That(result, Does.StartWith("10").And.EndWith("00"));
    }

    [Test]
    public async Task ProcessChunk_Stream_EachChunksIntegersPlusOne()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("I have 3 "), Chunks.Content("apples and 41 pears"), Chunks.Finish()));

        await new IncrementIntegersPolicy().RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("I have 4 apples and 42 pears"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task ProcessChunk_NumberSplitAcrossChunks_IncrementedPieceByPieceAsInLuthienControl()
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new ListStreamingIterator(Chunks.Role(), Chunks.Content("1"), Chunks.Content("2"), Chunks.Finish()));

        await new IncrementIntegersPolicy().RunAsync(transaction);
        var chunks = await ListStreamingIterator.CollectAsync(transaction.Response.Stream!);

        Assert.That(Chunks.Text(chunks), Is.EqualTo("23"));
    }

    [Test]
    public async Task ApplyNonStreaming_Answer_ContentIncrementedOtherFieldsKept()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Answer: 41"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"""u8.ToArray(), "application/json");

        await new IncrementIntegersPolicy().RunAsync(transaction);

        var answer = transaction.Response.Payload!;
        Assert.That(answer["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("Answer: 42"));
        Assert.That(JsonNode.DeepEquals(answer["usage"], JsonNode.Parse("""{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}""")), Is.True);
    }
}
