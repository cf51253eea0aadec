using System.IO.Pipelines;
using System.Text.Json;
using Luthien.Control.Streaming;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// A failure as <see cref="ErrorMapping"/> classified it: its kind, and the OpenAI error the client gets for it — as a
/// JSON body with <see cref="StatusCode"/> before the response starts, as the stream's last event after. Both are
/// written from this one value, so they never disagree.
/// </summary>
internal sealed class ControlError
{
    internal ControlError(ControlException error, Exception exception)
        : this(error.Kind, error.StatusCode, error.Code, error.Message, error.Param, exception)
    {
    }

    internal ControlError(ControlErrorKind kind, int statusCode, string code, string message, string? param, Exception exception)
    {
        Kind = kind;
        StatusCode = statusCode;
        Code = code;
        Message = message;
        Param = param;
        Exception = exception;
    }

    /// <summary>What went wrong; recorded once for the transaction.</summary>
    public ControlErrorKind Kind { get; }

    /// <summary>The HTTP status, when the response has not started.</summary>
    public int StatusCode { get; }

    /// <summary><c>error.code</c>.</summary>
    public string Code { get; }

    /// <summary><c>error.type</c>, derived from the status.</summary>
    public string Type => ControlException.TypeForStatus(StatusCode);

    /// <summary><c>error.message</c>: never a secret, never a stack trace.</summary>
    public string Message { get; }

    /// <summary><c>error.param</c>.</summary>
    public string? Param { get; }

    /// <summary>What was thrown, for the log only.</summary>
    public Exception Exception { get; }

    /// <summary>The <c>error.type</c> of the transaction's span and metrics.</summary>
    public string Tag => ControlErrorKinds.Tag(Kind);

    /// <summary>Whether nothing of ours caused it: logged as an error with its detail, shown as a bare 500.</summary>
    public bool IsUnexpected => Kind == ControlErrorKind.Internal && Exception is not ControlException;

    /// <summary>The cause to log: the inner failure of one of ours (e.g. the transport error behind a 502), else what was thrown.</summary>
    public Exception LoggedException => Exception is ControlException { InnerException: { } inner } ? inner : Exception;

    /// <summary>The client went away: recorded, never sent.</summary>
    internal static ControlError ClientDisconnected(Exception exception) =>
        new(ControlErrorKind.ClientDisconnected, 499, "client_disconnected", "The client went away.", null, exception);

    /// <summary>The envelope <c>{"error":{"message","type","param","code"}}</c> as UTF-8 JSON, on one line.</summary>
    public byte[] ToJsonUtf8() => ToJsonUtf8(responsesEvent: false);

    /// <summary>
    /// The envelope; as a Responses API error event, the event's own fields (<c>type</c> <c>error</c>, <c>code</c>,
    /// <c>message</c>, <c>param</c>) come first, so that Responses clients read it as the error it is.
    /// </summary>
    private byte[] ToJsonUtf8(bool responsesEvent)
    {
        using var buffer = new MemoryStream(128 + Message.Length);
        using (var writer = new Utf8JsonWriter(buffer, LuthienJson.WriterOptions))
        {
            writer.WriteStartObject();
            if (responsesEvent)
            {
                writer.WriteString("type", "error");
                writer.WriteString("code", Code);
                writer.WriteString("message", Message);
                WriteParam(writer);
            }

            WriteError(writer, Message, Type, Param, Code);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// The envelope for an error nobody classified as a transaction's: what the host's own middleware (authorization,
    /// rate limiting, problem details) answered on a Luthien endpoint.
    /// </summary>
    /// <param name="statusCode">The status, which gives <c>error.type</c>.</param>
    /// <param name="code"><c>error.code</c>.</param>
    /// <param name="message"><c>error.message</c>.</param>
    internal static byte[] ToJsonUtf8(int statusCode, string code, string message)
    {
        using var buffer = new MemoryStream(128 + message.Length);
        using (var writer = new Utf8JsonWriter(buffer, LuthienJson.WriterOptions))
        {
            writer.WriteStartObject();
            WriteError(writer, message, ControlException.TypeForStatus(statusCode), null, code);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteError(Utf8JsonWriter writer, string message, string type, string? param, string code)
    {
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        WriteParam(writer, param);
        writer.WriteString("code", code);
        writer.WriteEndObject();
    }

    private void WriteParam(Utf8JsonWriter writer) => WriteParam(writer, Param);

    private static void WriteParam(Utf8JsonWriter writer, string? param)
    {
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }
    }

    /// <summary>Writes the envelope as a server-sent event (<c>data: {"error":…}</c>) and flushes it.</summary>
    /// <param name="writer">The stream's event writer.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public ValueTask<FlushResult> WriteEventAsync(SseEventWriter writer, CancellationToken cancellationToken)
    {
        if (writer.WriteEventTypes)
        {
            writer.WriteEvent("error", ToJsonUtf8(responsesEvent: true));
        }
        else
        {
            writer.WriteEvent(ToJsonUtf8());
        }

        return writer.FlushAsync(cancellationToken);
    }
}
