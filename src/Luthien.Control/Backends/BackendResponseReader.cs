using System.IO.Compression;
using System.Net.Http.Headers;

namespace Luthien.Control;

/// <summary>Stores a backend's answer in a transaction, whichever client received it.</summary>
internal static class BackendResponseReader
{
    /// <summary>
    /// Pass-through requests keep the body as a stream; a successful event stream becomes a chunk iterator;
    /// anything else (JSON, backend errors) is read whole, within the size limit. <c>owner</c> is released once the
    /// answer has been consumed (by the iterator, for streams).
    /// </summary>
    /// <remarks>
    /// A successful answer to a policed request is what policies read, so it must be readable or it is refused (502
    /// <c>backend_invalid_response</c>) rather than passed on unread: the kind the request asked for (an event stream for
    /// <c>"stream": true</c>, else not), and a buffered body that is one valid JSON object, decoded first if it came
    /// compressed. Backend errors (non-2xx) pass as they are.
    /// </remarks>
    public static async ValueTask ApplyAsync(
        Transaction transaction,
        int status,
        string? contentType,
        long? contentLength,
        Stream body,
        IDisposable owner,
        LuthienOptions options,
        IStreamingResponseReader streamReader,
        TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        var target = transaction.Response;

        // Redirects are never followed, and never passed on either: a client SDK would follow one with its own key and
        // its request body, past every policy, to wherever the backend points (304 carries no target and may pass). The
        // caller releases the response.
        if (status is >= 300 and < 400 and not 304)
        {
            throw BackendException.InvalidResponse($"it answered with a redirect ({status}).");
        }

        if (transaction.Request.Kind == RequestKind.Passthrough)
        {
            target.SetBodyStream(status, body, contentType);
            target.Owner = owner;
            return;
        }

        var parsedType = ParseContentType(contentType);
        var isEventStream = IsMediaType(parsedType, "text/event-stream");
        var policed = status is >= 200 and < 300;
        if (policed && transaction.Request.IsStreaming != isEventStream)
        {
            throw BackendException.InvalidResponse(isEventStream
                ? "a request without \"stream\": true was answered with an event stream."
                : "a \"stream\": true request was answered with something other than text/event-stream.");
        }

        // The library reads answers as UTF-8 (what JSON and event streams are): one that says it is in another charset
        // would be read as other text than the backend meant, so the policies would judge text nobody sent.
        if (policed && !IsUtf8(parsedType))
        {
            throw BackendException.InvalidResponse("its content-type names a charset other than UTF-8.");
        }

        if (policed && isEventStream)
        {
            // The iterator owns the backend response from here on and releases it when disposed.
            target.SetStream(status, streamReader.Read(body, owner, options.Timeouts.FirstChunk, options.Timeouts.Idle, transaction.Request.Kind == RequestKind.Responses));
            return;
        }

        var limit = options.Limits.MaxResponseBodyBytes;
        var decoder = policed ? OpenDecoder(target.Headers, body, contentLength, limit) : null;
        BodyBuffer buffer;
        try
        {
            buffer = await ReadBoundedAsync(decoder ?? body, decoder is null ? contentLength : null, limit, options.Timeouts.Idle, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (decoder is not null)
            {
                await decoder.DisposeAsync().ConfigureAwait(false);
            }
        }

        using var owned = buffer;
        if (decoder is not null)
        {
            // The client gets the decoded bytes, and their length.
            target.Headers.Remove("Content-Encoding");
        }

        if (policed && JsonHygiene.ValidateObject(buffer.Memory) is { } reason)
        {
            throw BackendException.InvalidResponse(reason);
        }

        // A policed answer was read as JSON, so it goes out as JSON, in the one spelling the library writes: a backend
        // cannot make the library serve its bytes as, say, text/html on the host's origin.
        if (policed)
        {
            contentType = "application/json";
        }

        target.SetBody(status, buffer.DetachMemory(), contentType);
        owner.Dispose();
    }

    private static MediaTypeHeaderValue? ParseContentType(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed : null;

    private static bool IsMediaType(MediaTypeHeaderValue? parsed, string mediaType) =>
        string.Equals(parsed?.MediaType, mediaType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the content type names no charset, or UTF-8 (quoted or not, in any case; <c>utf8</c> as some servers spell it).</summary>
    private static bool IsUtf8(MediaTypeHeaderValue? parsed)
    {
        // Every charset parameter counts: a "utf-8" beside another must not hide the other.
        foreach (var parameter in parsed?.Parameters ?? [])
        {
            if (!parameter.Name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = parameter.Value?.Trim('"');
            if (!string.Equals(value, "utf-8", StringComparison.OrdinalIgnoreCase) && !string.Equals(value, "utf8", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A stream that decodes the body per its <c>Content-Encoding</c>, or <see langword="null"/> when it is not encoded.
    /// An encoding the library cannot decode is refused: the policies could not read the body, and passing it on unread
    /// would let through whatever it hides.
    /// </summary>
    private static Stream? OpenDecoder(HttpHeaderDictionary headers, Stream body, long? contentLength, long limit)
    {
        if (!headers.TryGetValue("Content-Encoding", out var values))
        {
            return null;
        }

        string? coding = null;
        foreach (var value in values)
        {
            foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (coding is not null)
                {
                    throw BackendException.InvalidResponse("the body is encoded more than once.");
                }

                coding = part;
            }
        }

        if (coding is null)
        {
            return null;
        }

        // Even compressed, a body declared over the limit is refused unread.
        if (contentLength > limit)
        {
            throw BackendException.TooLarge(limit);
        }

        return coding.ToLowerInvariant() switch
        {
            "gzip" or "x-gzip" => new GZipStream(body, CompressionMode.Decompress, leaveOpen: true),
            "deflate" => new ZLibStream(body, CompressionMode.Decompress, leaveOpen: true),
            "br" => new BrotliStream(body, CompressionMode.Decompress, leaveOpen: true),
            _ => throw BackendException.InvalidResponse("the body has a content-encoding the library cannot decode."),
        };
    }

    /// <summary>
    /// Reads a whole body, failing past <paramref name="limit"/> bytes (decoded bytes, when <paramref name="body"/>
    /// decodes) or after <paramref name="idle"/> of silence. Memory grows with the bytes that arrive, whatever the
    /// declared length says.
    /// </summary>
    internal static async Task<BodyBuffer> ReadBoundedAsync(Stream body, long? contentLength, long limit, TimeSpan idle, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        // The library's one activity timeout (and its mapping of transport failures); the caller owns the body.
        var reading = new BackendReadStream(body, timeProvider, idle, firstEvent: null, maxEventBytes: 0, cancellationToken, leaveOpen: true);
        await using var _ = reading.ConfigureAwait(false);
        try
        {
            return await BoundedBodyReader.ReadAsync(reading, contentLength, limit, TooLarge, EndedEarly, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            // The decoder's word for compressed data that is not what its encoding says.
            throw BackendException.InvalidResponse("the body cannot be decoded per its content-encoding.");
        }
    }

    private static readonly Func<long, Exception> TooLarge = static limit => BackendException.TooLarge(limit);

    private static readonly Func<Exception> EndedEarly = static () => BackendException.Unavailable(new IOException("The backend's response ended before its declared length."));
}
