using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>
/// The last step of a policed Responses stream, after every policy: writes what the policies did in the API's own terms.
/// Text a policy added becomes delta events of its part; events of an item a policy removed (a call that is not allowed)
/// go, and the items after it are renumbered so <c>output_index</c> stays contiguous; every event that repeats text
/// (<c>*.done</c>, <c>response.content_part.done</c>, <c>response.output_item.done</c>, the final response) says
/// exactly what the deltas said; <c>sequence_number</c> stays contiguous; a block closes the open items and ends the
/// stream with <c>response.incomplete</c> (reason <c>content_filter</c>). A stream no policy changed passes byte for byte.
/// </summary>
internal sealed partial class ResponsesStreamFinisher : StreamingResponseIterator
{
    private readonly ResponsesFormat _format;
    private readonly long _maxSaidChars;

    /// <param name="inner">The policed stream.</param>
    /// <param name="format">The answer's adapter, which the policies read its events with.</param>
    /// <param name="maxSaidChars">The most text kept of what the stream said (<see cref="MaxSaidChars"/>).</param>
    public ResponsesStreamFinisher(StreamingResponseIterator inner, ResponsesFormat format, long maxSaidChars = MaxSaidChars)
    {
        Inner = inner;
        _format = format;
        _maxSaidChars = maxSaidChars;
    }

    /// <summary>
    /// The most text kept of what a stream said (UTF-16 characters over all its parts), to make its repeats agree, and of
    /// the items it was shown (counted by their events' size), to close them if a policy ends the answer: far above any
    /// answer a model gives today, and a bound on what a backend can make the library keep.
    /// </summary>
    public const long MaxSaidChars = 8 * 1024 * 1024;

    /// <summary>The policed stream this finishes.</summary>
    public StreamingResponseIterator Inner { get; }

    /// <inheritdoc />
    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        RunAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <inheritdoc />
    protected override async ValueTask DisposeAsyncCore()
    {
        await Inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private async IAsyncEnumerable<StreamChunk> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var state = new Writer(_format, _maxSaidChars);
        var output = new List<StreamChunk>(2);
        await using var upstream = Inner.GetAsyncEnumerator(cancellationToken);
        while (!state.Ended && await upstream.MoveNextAsync().ConfigureAwait(false))
        {
            var chunk = upstream.Current;
            state.Write(chunk, output);
            foreach (var written in output)
            {
                yield return written;
            }

            output.Clear();
        }
    }
}
