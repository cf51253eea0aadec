using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using static Luthien.Control.AspNetCore.Tests.Infrastructure.TestChunks;

namespace Luthien.Control.AspNetCore.Tests.Pipeline;

public class UsageStepTests
{
    [Test]
    public async Task ApplyAsync_StreamClientDidNotAskForUsage_BackendIsAsked()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        JsonNode? sent = null;

        await Step(telemetry).ApplyAsync(transaction, (t, _) => { sent = t.Request.Payload!.DeepClone(); return Answer(t); }, CancellationToken.None);

        Assert.That(sent!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task ApplyAsync_ClientStreamOptionsWithoutUsage_UsageAddedOthersKept()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat("""{"model":"m","stream":true,"stream_options":{"vendor":1},"messages":[{"role":"user","content":"hi"}]}""");

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t), CancellationToken.None);

        Assert.That(transaction.Request.Payload!["stream_options"]!.ToJsonString(), Is.EqualTo("""{"vendor":1,"include_usage":true}"""));
    }

    [Test]
    public async Task ApplyAsync_ClientAskedForUsage_RequestUnchanged()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        const string body = """{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""";
        var transaction = Chat(body);

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t), CancellationToken.None);

        Assert.That(transaction.Request.Payload!.ToJsonString(), Is.EqualTo(body));
    }

    [Test]
    public async Task ApplyAsync_LegacyStreamClientDidNotAskForUsage_BackendIsAskedClientNotShown()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.Completion, """{"model":"m","stream":true,"prompt":"hi"}"""u8), "ltx-usage");
        JsonNode? sent = null;

        await Step(telemetry).ApplyAsync(transaction, (t, _) => { sent = t.Request.Payload!.DeepClone(); return Answer(t); }, CancellationToken.None);

        Assert.That(sent!["stream_options"]!["include_usage"]!.GetValue<bool>(), Is.True);
        Assert.That(transaction.Request.AsksUsageClientDidNot, Is.True, "the usage chunk and the added usage:null members are kept from the client");
    }

    [Test]
    public async Task ApplyAsync_ResponsesStream_RequestUnchanged()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        const string body = """{"model":"m","stream":true,"input":"hi"}""";
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.Responses, Encoding.UTF8.GetBytes(body)), "ltx-usage");

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t), CancellationToken.None);

        Assert.That(transaction.Request.Payload!.ToJsonString(), Is.EqualTo(body), "a Responses stream has its usage in response.completed");
    }

    [TestCase("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", true)]
    [TestCase("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""", false)]
    public async Task ApplyAsync_NotStreamedOrAskingTurnedOff_BackendNotAsked(string body, bool requestUsage)
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat(body);
        var options = new LuthienOptions { Streaming = { RequestUsage = requestUsage } };

        await Step(telemetry, options).ApplyAsync(transaction, (t, _) => Answer(t), CancellationToken.None);

        Assert.That(transaction.Request.Payload!.ToJsonString(), Is.EqualTo(body));
    }

    [Test]
    public async Task ApplyAsync_LibraryAskedForUsage_ClientGetsEveryChunkButTheUsageOne()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var backend = new TestChunks(Content("a", ",\"usage\":null"), Content("b", ",\"usage\":null"), Usage());

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, backend), CancellationToken.None);
        var received = await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(received, Is.EqualTo(new[] { Content("a", ",\"usage\":null"), Content("b", ",\"usage\":null") }));
        Assert.Throws<InvalidOperationException>(() => _ = backend.Given[2].Data, "the hidden chunk's buffer went back to the pool");
        Assert.That(backend.Disposed, Is.True);
    }

    [Test]
    public async Task ApplyAsync_ClientAskedAndNobodyListens_StreamLeftAsItIs()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat("""{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        var backend = new TestChunks(Content("a"), Usage());

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, backend), CancellationToken.None);

        Assert.That(transaction.Response.Stream, Is.SameAs(backend), "nothing to hide, nothing to record: no cost");
    }

    [Test]
    public async Task ApplyAsync_ClientAskedAndTokensListened_UsageChunkPassesAndIsRecorded()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat("""{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks(Content("a"), Usage(prompt: 7, completion: 4))), CancellationToken.None);
        var received = await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(received, Is.EqualTo(new[] { Content("a"), Usage(prompt: 7, completion: 4) }));
        var tokens = telemetry.Of("gen_ai.client.token.usage").ToDictionary(m => (string)m.Tags["gen_ai.token.type"]!, m => m.Value);
        Assert.That(tokens, Is.EqualTo(new Dictionary<string, double> { ["input"] = 7, ["output"] = 4 }));
    }

    [Test]
    public async Task ApplyAsync_LibraryAskedAndSpanListened_TokensOnTheSpan()
    {
        using var telemetry = new TelemetryRecorder(metrics: false);
        var transaction = Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        using var span = LuthienTelemetry.Source.StartActivity(ActivityKind.Internal);

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks(Content("a"), Usage(prompt: 7, completion: 4))), CancellationToken.None);
        await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(span!.GetTagItem("gen_ai.usage.input_tokens"), Is.EqualTo(7L));
        Assert.That(span.GetTagItem("gen_ai.usage.output_tokens"), Is.EqualTo(4L));
    }

    [Test]
    public async Task ApplyAsync_ResponsesStreamAndSpanListened_TokensOfTheLastEventOnTheSpan()
    {
        using var telemetry = new TelemetryRecorder(metrics: false);
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.Responses, """{"model":"m","stream":true,"input":"hi"}"""u8), "ltx-usage");
        using var span = LuthienTelemetry.Source.StartActivity(ActivityKind.Internal);
        const string delta = """{"type":"response.output_text.delta","sequence_number":0,"output_index":0,"content_index":0,"delta":"\"response.completed\""}""";
        const string completed = """{"type":"response.completed","sequence_number":1,"response":{"id":"r","object":"response","status":"completed","output":[],"usage":{"input_tokens":9,"output_tokens":3,"total_tokens":12}}}""";

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks(delta, completed)), CancellationToken.None);
        var chunks = await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(chunks, Has.Count.EqualTo(2), "the client gets every event, usage included");
        Assert.That(span!.GetTagItem("gen_ai.usage.input_tokens"), Is.EqualTo(9L));
        Assert.That(span.GetTagItem("gen_ai.usage.output_tokens"), Is.EqualTo(3L));
    }

    [Test]
    public async Task ApplyAsync_BufferedAnswerAndTokensListened_UsageRecorded()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");

        await Step(telemetry).ApplyAsync(
            transaction,
            (t, _) =>
            {
                t.Response.SetBody(200, """{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}"""u8.ToArray(), "application/json");
                return ValueTask.CompletedTask;
            },
            CancellationToken.None);

        Assert.That(telemetry.Of("gen_ai.client.token.usage").Select(m => m.Value), Is.EquivalentTo(new double[] { 5, 2 }));
    }

    [Test]
    public async Task ApplyAsync_BackendErrorAnswer_NoUsageRecorded()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");

        await Step(telemetry).ApplyAsync(
            transaction,
            (t, _) =>
            {
                t.Response.SetBody(500, """{"usage":{"prompt_tokens":5,"completion_tokens":2}}"""u8.ToArray(), "application/json");
                return ValueTask.CompletedTask;
            },
            CancellationToken.None);

        Assert.That(telemetry.Of("gen_ai.client.token.usage"), Is.Empty);
    }

    private static UsageStep Step(TelemetryRecorder telemetry, LuthienOptions? options = null) =>
        new(TestExchange.Monitor(options), telemetry.Metrics);

    private static Transaction Chat(string body) =>
        new(TransactionRequest.Parse(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(body)), "ltx-usage");

    private static ValueTask Answer(Transaction transaction, TestChunks? stream = null)
    {
        transaction.Response.SetStream(200, stream ?? new TestChunks(Content("a")));
        return ValueTask.CompletedTask;
    }
}
