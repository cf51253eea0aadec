using Microsoft.Extensions.Options;

namespace Luthien.Control.Streaming;

/// <summary>Creates a <see cref="RawSseStreamingIterator"/> for each streamed backend response.</summary>
/// <param name="options">Supplies the event size limit.</param>
/// <param name="timeProvider">The clock for the timeouts.</param>
internal sealed class RawSseStreamingResponseReader(IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider) : IStreamingResponseReader
{
    /// <inheritdoc />
    public StreamingResponseIterator Read(Stream body, IDisposable? owner, TimeSpan firstChunkTimeout, TimeSpan idleTimeout, bool endsAtLastEvent = false) =>
        new RawSseStreamingIterator(body, owner, firstChunkTimeout, idleTimeout, options.CurrentValue.Limits.MaxEventBytes, timeProvider)
        {
            UsageDrain = options.CurrentValue.Streaming.UsageDrain,
            EndsAtLastEvent = endsAtLastEvent,
        };
}
