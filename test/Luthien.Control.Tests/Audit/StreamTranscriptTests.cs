using System.Diagnostics;
using System.Text;

namespace Luthien.Control.Tests.Audit;

public sealed class StreamTranscriptTests
{
    [Test]
    public void Add_WithinBudget_KeepsEveryEvent()
    {
        using var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024);

        transcript.Add("one"u8);
        transcript.Add("two"u8);

        Assert.That(transcript.EventData().Select(d => Encoding.UTF8.GetString(d.Span)), Is.EqualTo(new[] { "one", "two" }));
        Assert.That(transcript.Events, Is.EqualTo(2));
        Assert.That(transcript.Truncated, Is.False);
        Assert.That(transcript.FirstEventMs, Is.Not.Null);
    }

    [Test]
    public void Add_PastBudget_TruncatedButCounted()
    {
        using var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024);
        var big = new byte[700];

        transcript.Add(big);
        transcript.Add(big);
        transcript.Add("x"u8);

        Assert.That(transcript.EventData().Count(), Is.EqualTo(1));
        Assert.That(transcript.Events, Is.EqualTo(3));
        Assert.That(transcript.Truncated, Is.True);
        Assert.That(transcript.Timeline, Has.Count.EqualTo(3));
    }

    [Test]
    public void Add_ManyEvents_TimelineBounded()
    {
        using var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024);

        for (var i = 0; i < StreamTranscript.MaxTimeline + 10; i++)
        {
            transcript.Add(ReadOnlySpan<byte>.Empty);
        }

        Assert.That(transcript.Timeline, Has.Count.EqualTo(StreamTranscript.MaxTimeline));
        Assert.That(transcript.Events, Is.EqualTo(StreamTranscript.MaxTimeline + 10));
    }

    [Test]
    public void Timeline_NoEvent_FirstEventUnset()
    {
        using var transcript = new StreamTranscript(Stopwatch.GetTimestamp(), 1024);

        Assert.That(transcript.FirstEventMs, Is.Null);
    }
}
