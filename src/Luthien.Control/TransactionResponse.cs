using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// The response of a transaction. Exactly one of three forms holds once a backend or a policy has answered:
/// a buffered body (<see cref="Body"/>, with <see cref="Payload"/> as its parsed JSON), a streamed raw body
/// (<see cref="BodyStream"/>, for pass-through), or a stream of server-sent-event chunks (<see cref="Stream"/>).
/// </summary>
public sealed class TransactionResponse
{
    private ReadOnlyMemory<byte> _body;
    private JsonNode? _payload;
    private bool _payloadParsed;
    private bool _payloadAssigned;

    /// <summary>The HTTP status; <see langword="null"/> while nothing has answered.</summary>
    public int? StatusCode { get; set; }

    /// <summary>Whether something (the backend or a policy) has answered.</summary>
    public bool HasValue => StatusCode is not null;

    /// <summary>Response headers to send to the client (content headers included; hop-by-hop ones already removed).</summary>
    public HttpHeaderDictionary Headers { get; } = new();

    /// <summary>The content type of the body, e.g. <c>application/json</c>.</summary>
    public string? ContentType { get; set; }

    /// <summary>
    /// The buffered body: the bytes as they came, or the serialized <see cref="Payload"/> once a payload has been assigned.
    /// </summary>
    public ReadOnlyMemory<byte> Body
    {
        get
        {
            if (_payloadAssigned && _payload is not null)
            {
                _body = LuthienJson.ToUtf8Bytes(_payload);
                _payloadAssigned = false;
            }

            return _body;
        }
    }

    /// <summary>
    /// The buffered body parsed as JSON (parsed on first use); <see langword="null"/> if there is no buffered body or it
    /// is not JSON (or is deeper than 64 levels, or repeats a property name: a backend's chat answer that is any of these is
    /// refused before policies run). Reading it leaves the body's bytes as they are; to change the answer, change the node and assign it
    /// back, and the client receives its serialized form. (Response policies normally change answers through
    /// <c>StreamChunk.Output</c>, which serves every API, buffered or streamed.)
    /// </summary>
    public JsonNode? Payload
    {
        get
        {
            if (!_payloadParsed)
            {
                _payloadParsed = true;
                try
                {
                    // The options a backend's answer was validated with, so that a body the reader accepted always parses.
                    _payload = _body.IsEmpty ? null : JsonNode.Parse(_body.Span, documentOptions: JsonHygiene.DocumentOptions);
                }
                catch (JsonException)
                {
                    _payload = null;
                }
            }

            return _payload;
        }

        set
        {
            _payload = value;
            _payloadParsed = true;
            _payloadAssigned = true;
            ContentType ??= "application/json";
        }
    }

    /// <summary>A raw body streamed to the client as it arrives (pass-through requests).</summary>
    public Stream? BodyStream { get; private set; }

    /// <summary>The chunks of a streamed (server-sent events) answer. Policies may wrap it.</summary>
    public StreamingResponseIterator? Stream { get; set; }

    /// <summary>Whether the answer is a stream of chunks.</summary>
    public bool IsStream => Stream is not null;

    /// <summary>The adapter that reads this answer's chunks into output events, shared by the policies of the chain.</summary>
    internal WireFormat? Format { get; set; }

    /// <summary>Something to dispose once the response has been written (typically the backend's HTTP response).</summary>
    public IDisposable? Owner { get; set; }

    /// <summary>Sets a buffered body.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="body">The body bytes.</param>
    /// <param name="contentType">The body's content type.</param>
    public void SetBody(int statusCode, ReadOnlyMemory<byte> body, string? contentType)
    {
        StatusCode = statusCode;
        _body = body;
        _payload = null;
        _payloadParsed = false;
        _payloadAssigned = false;
        ContentType = contentType;
        BodyStream = null;
        Stream = null;
        Format = null;
    }

    /// <summary>Sets a JSON body.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="payload">The JSON body.</param>
    public void SetJson(int statusCode, JsonNode payload)
    {
        StatusCode = statusCode;
        _body = ReadOnlyMemory<byte>.Empty;
        Payload = payload;
        ContentType = "application/json";
        BodyStream = null;
        Stream = null;
        Format = null;
    }

    /// <summary>Sets a body that is streamed to the client as it is read.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="body">The body stream; disposed after it has been copied.</param>
    /// <param name="contentType">The body's content type.</param>
    public void SetBodyStream(int statusCode, Stream body, string? contentType)
    {
        StatusCode = statusCode;
        BodyStream = body;
        ContentType = contentType;
        _body = ReadOnlyMemory<byte>.Empty;
        _payload = null;
        _payloadParsed = false;
        _payloadAssigned = false;
        Stream = null;
        Format = null;
    }

    /// <summary>Sets a streamed (server-sent events) answer.</summary>
    /// <param name="statusCode">The HTTP status, normally 200.</param>
    /// <param name="stream">The chunks.</param>
    public void SetStream(int statusCode, StreamingResponseIterator stream)
    {
        StatusCode = statusCode;
        Stream = stream;
        ContentType = "text/event-stream";
        BodyStream = null;
        _body = ReadOnlyMemory<byte>.Empty;
        _payload = null;
        _payloadParsed = false;
        _payloadAssigned = false;
        Format = null;
    }
}
