using System.Diagnostics;
using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Luthien.Control.AspNetCore.Tests.Infrastructure.TestChunks;

namespace Luthien.Control.AspNetCore.Tests.Pipeline;

public class TelemetryStepTests
{
    private readonly FakeTimeProvider _clock = new();

    [Test]
    public void Attach_ChatTransaction_SpanNamedAndTaggedAfterIt()
    {
        using var telemetry = new TelemetryRecorder();

        using (var exchange = Step(telemetry).Begin("chat/completions"))
        {
            exchange.Attach(Chat());
        }

        var span = telemetry.Spans.Single();
        Assert.That(span.DisplayName, Is.EqualTo("chat m"));
        Assert.That(span.GetTagItem("gen_ai.operation.name"), Is.EqualTo("chat"));
        Assert.That(span.GetTagItem("gen_ai.request.model"), Is.EqualTo("m"));
        Assert.That(span.GetTagItem("luthien.transaction_id"), Is.EqualTo("ltx-telemetry"));
    }

    [Test]
    public void Complete_Served_OneDurationWithStatusAndNoErrorType()
    {
        using var telemetry = new TelemetryRecorder();

        using (var exchange = Step(telemetry).Begin("chat/completions"))
        {
            exchange.Attach(Chat());
            exchange.Complete(200, failure: null);
        }

        var duration = telemetry.Of("gen_ai.server.request.duration").Single();
        Assert.That(duration.Value, Is.GreaterThanOrEqualTo(0));
        Assert.That(duration.Tags["gen_ai.operation.name"], Is.EqualTo("chat"));
        Assert.That(duration.Tags["gen_ai.request.model"], Is.EqualTo("m"));
        Assert.That(duration.Tags["http.response.status_code"], Is.EqualTo(200));
        Assert.That(duration.Tags, Does.Not.ContainKey("error.type"), "no error.type on success (GenAI semantic conventions)");
        Assert.That(telemetry.Spans.Single().Status, Is.EqualTo(ActivityStatusCode.Unset));
    }

    [Test]
    public void Complete_Failure_ErrorTypeOnSpanAndDuration()
    {
        using var telemetry = new TelemetryRecorder();

        using (var exchange = Step(telemetry).Begin("chat/completions"))
        {
            exchange.Attach(Chat());
            exchange.Complete(401, ControlErrorKind.Unauthorized);
        }

        Assert.That(telemetry.Of("gen_ai.server.request.duration").Single().Tags["error.type"], Is.EqualTo("unauthorized"));
        var span = telemetry.Spans.Single();
        Assert.That(span.GetTagItem("error.type"), Is.EqualTo("unauthorized"));
        Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
    }

    [Test]
    public void Complete_ErrorStatusWithoutFailureOfOurs_RecordedAsTheBackendsError()
    {
        using var telemetry = new TelemetryRecorder();

        using (var exchange = Step(telemetry).Begin("chat/completions"))
        {
            exchange.Attach(Chat());
            exchange.Complete(503, failure: null);
        }

        Assert.That(telemetry.Of("gen_ai.server.request.duration").Single().Tags["error.type"], Is.EqualTo("backend_error"));
    }

    [Test]
    public void Complete_RefusedBeforeAnyTransaction_MeasuredUnderThePathLabel()
    {
        using var telemetry = new TelemetryRecorder();

        using (var exchange = Step(telemetry).Begin("(refused path)"))
        {
            exchange.Complete(400, ControlErrorKind.InvalidRequest);
        }

        var duration = telemetry.Of("gen_ai.server.request.duration").Single();
        Assert.That(duration.Tags["gen_ai.operation.name"], Is.EqualTo("(refused path)"));
        Assert.That(duration.Tags["gen_ai.request.model"], Is.Null);
        Assert.That(telemetry.Spans.Single().GetTagItem("error.type"), Is.EqualTo("invalid_request"));
    }

    [Test]
    public void Begin_NobodyListens_NoSpan()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);

        using var exchange = Step(telemetry).Begin("chat/completions");

        Assert.That(exchange.Span, Is.Null);
    }

    [Test]
    public async Task ApplyAsync_Stream_TimeToFirstChunkRecordedOnce()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat(startedAt: _clock.GetUtcNow());

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks(Content("a"), Content("b"), Content("c"))), CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(1.5));
        await ReadAllAsync(transaction.Response.Stream!);

        var ttfc = telemetry.Of("gen_ai.server.time_to_first_token").Single();
        Assert.That(ttfc.Value, Is.EqualTo(1.5));
        Assert.That(ttfc.Tags["gen_ai.request.model"], Is.EqualTo("m"));
    }

    [Test]
    public async Task ApplyAsync_Stream_CountsTheChunksWrittenNotEmptyOnes()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat();

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks(Content("a"), string.Empty, Content("b"))), CancellationToken.None);
        var received = await ReadAllAsync(transaction.Response.Stream!);

        Assert.That(received, Has.Count.EqualTo(3), "chunks pass as they are; the writer skips the empty one");
        Assert.That(telemetry.Of("luthien.stream.chunks").Single().Value, Is.EqualTo(2));
    }

    [Test]
    public void ApplyAsync_StreamFailsBeforeFirstChunk_NothingCounted()
    {
        using var telemetry = new TelemetryRecorder(spans: false);
        var transaction = Chat();

        Assert.ThrowsAsync<BackendException>(async () =>
        {
            await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, new TestChunks { FailWith = BackendException.Timeout() }), CancellationToken.None);
            await ReadAllAsync(transaction.Response.Stream!);
        });

        Assert.That(telemetry.Of("luthien.stream.chunks"), Is.Empty);
        Assert.That(telemetry.Of("gen_ai.server.time_to_first_token"), Is.Empty);
    }

    [Test]
    public async Task ApplyAsync_NobodyListens_StreamLeftAsItIs()
    {
        using var telemetry = new TelemetryRecorder(spans: false, metrics: false);
        var transaction = Chat();
        var backend = new TestChunks(Content("a"));

        await Step(telemetry).ApplyAsync(transaction, (t, _) => Answer(t, backend), CancellationToken.None);

        Assert.That(transaction.Response.Stream, Is.SameAs(backend));
    }

    private TelemetryStep Step(TelemetryRecorder telemetry) => new(telemetry.Metrics, _clock);

    private static Transaction Chat(DateTimeOffset? startedAt = null) =>
        new(TransactionRequest.Parse(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""")), "ltx-telemetry")
        {
            StartedAt = startedAt ?? DateTimeOffset.UtcNow,
        };

    private static ValueTask Answer(Transaction transaction, TestChunks stream)
    {
        transaction.Response.SetStream(200, stream);
        return ValueTask.CompletedTask;
    }
}
