namespace Luthien.Control;

/// <summary>
/// Turns a backend's server-sent-event body into a <see cref="StreamingResponseIterator"/>. The seam through which
/// <c>Luthien.Control.Streaming</c> plugs its SSE reader into the backend-sending policy.
/// </summary>
internal interface IStreamingResponseReader
{
    /// <summary>Creates an iterator over the events in <paramref name="body"/>.</summary>
    /// <param name="body">The response body.</param>
    /// <param name="owner">Disposed together with the iterator (typically the HTTP response).</param>
    /// <param name="firstChunkTimeout">How long the backend may stay silent before its first event.</param>
    /// <param name="idleTimeout">How long the backend may stay silent between two events.</param>
    /// <param name="endsAtLastEvent">
    /// The stream ends well with its last event (<c>response.completed</c>, <c>response.incomplete</c>,
    /// <c>response.failed</c>: the Responses API) rather than with <c>[DONE]</c>.
    /// </param>
    StreamingResponseIterator Read(Stream body, IDisposable? owner, TimeSpan firstChunkTimeout, TimeSpan idleTimeout, bool endsAtLastEvent = false);
}
