using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

/// <summary>
/// Turns a finished transaction's <see cref="AuditRecord"/> into its three <c>luthien_log</c> rows — <c>request</c>,
/// <c>response</c>, <c>outcome</c> — with every secret masked. Runs on the log writer's thread, never on a request's.
/// </summary>
internal static class AuditRows
{
    [ThreadStatic]
    private static RowWriter? t_writer;

    /// <summary>The rows of one transaction.</summary>
    /// <param name="record">The transaction's record.</param>
    /// <param name="mask">What secrets look like.</param>
    public static TransactionLogRow[] Build(AuditRecord record, AuditMask mask)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(mask);
        var row = t_writer ??= new RowWriter();

        // A buffered answer's usage is in its body, read here (not on the request's thread).
        var usage = record.Usage is { } reported ? Usage.From(reported)
            : record.Transcript is null && record.Status is >= 200 and < 300 && record.ResponseBody is { } body ? Usage.Read(body)
            : null;
        return
        [
            new(record.TransactionId, record.StartedAt, TransactionLogRow.Request, row.Write(record, mask, Request)),
            new(record.TransactionId, record.EndedAt, TransactionLogRow.Response, row.Write(record, mask, Response)),
            new(record.TransactionId, record.EndedAt, TransactionLogRow.Outcome, row.Write(record, mask, (w, r, m) => Outcome(w, r, usage, m))),
        ];
    }

    private static void Request(Utf8JsonWriter writer, AuditRecord record, AuditMask mask)
    {
        writer.WriteStartObject();
        WriteExchange(writer, record, mask);
        writer.WriteBoolean("stream"u8, record.Stream);
        writer.WriteStartObject("headers"u8);
        HashSet<string>? names = null;
        foreach (var (name, value) in record.Headers ?? EmptyHeaders)
        {
            // Names as clients send them vary in case; the row keeps one spelling. A name is the client's text too.
            var lower = name.ToLowerInvariant();
            if (mask.IsClean(lower))
            {
                writer.WritePropertyName(lower);
            }
            else
            {
                names ??= new HashSet<string>(record.Headers!.Keys.Select(k => k.ToLowerInvariant()), StringComparer.Ordinal);
                writer.WritePropertyName(MaskedJson.Unique(names, mask.Apply(lower)));
            }

            writer.WriteStringValue(SecretRedactor.IsSensitiveHeader(lower) ? MaskedJson.Hidden : mask.Apply(value));
        }

        writer.WriteEndObject();
        writer.WritePropertyName("body"u8);
        var unreadable = !Body(writer, record.RequestBody, mask);
        if (record.RequestBodyBytes is { } bytes)
        {
            writer.WriteNumber("body_bytes"u8, bytes);
        }
        else
        {
            writer.WriteNull("body_bytes"u8);
        }

        writer.WriteBoolean("truncated"u8, record.RequestTruncated);
        if (unreadable)
        {
            writer.WriteString("body_note"u8, "not JSON; not stored");
        }
        else if (record.RequestBodyWithheld)
        {
            writer.WriteString("body_note"u8, "not stored: the client was not authenticated");
        }

        writer.WriteEndObject();
    }

    private static void Response(Utf8JsonWriter writer, AuditRecord record, AuditMask mask)
    {
        writer.WriteStartObject();
        writer.WriteNumber("status"u8, record.Status);
        if (record.Transcript is { } transcript)
        {
            writer.WriteBoolean("stream"u8, true);
            writer.WritePropertyName("assembled"u8);
            StreamAssembler.Write(writer, record.Api, transcript.EventData(), mask);
            writer.WriteNumber("events"u8, transcript.Events);
            writer.WriteStartArray("timeline"u8);
            foreach (var (ms, bytes) in transcript.Timeline)
            {
                writer.WriteStartArray();
                WriteMilliseconds(writer, ms);
                writer.WriteNumberValue(bytes);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteBoolean("truncated"u8, transcript.Truncated);
        }
        else
        {
            writer.WritePropertyName("body"u8);
            Body(writer, record.ResponseBody, mask);
            writer.WriteBoolean("truncated"u8, record.ResponseTruncated);
        }

        writer.WriteEndObject();
    }

    private static void Outcome(Utf8JsonWriter writer, AuditRecord record, Usage? usage, AuditMask mask)
    {
        writer.WriteStartObject();
        writer.WriteNumber("status"u8, record.Status);
        writer.WriteString("error_code"u8, record.ErrorCode);
        WriteExchange(writer, record, mask);
        writer.WritePropertyName("backend_model"u8);
        MaskedJson.WriteString(writer, mask, record.BackendModel);
        writer.WriteBoolean("stream"u8, record.Stream);
        writer.WriteStartArray("decisions"u8);
        foreach (var decision in record.Decisions)
        {
            writer.WriteStartObject();
            writer.WriteString("policy"u8, decision.Policy);
            writer.WriteString("action"u8, decision.Action);
            writer.WritePropertyName("detail"u8);
            MaskedJson.WriteString(writer, mask, decision.Detail);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (usage is { } known)
        {
            // Chat and legacy name them prompt/completion, the Responses API input/output: the row says both one way.
            writer.WriteStartObject("usage"u8);
            Tokens(writer, "prompt_tokens"u8, known.Prompt);
            Tokens(writer, "completion_tokens"u8, known.Completion);
            Tokens(writer, "total_tokens"u8, known.Total);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("usage"u8);
        }

        writer.WritePropertyName("duration_ms"u8);
        WriteMilliseconds(writer, record.DurationMs);
        if (record.Transcript?.FirstEventMs is { } first)
        {
            writer.WritePropertyName("time_to_first_chunk_ms"u8);
            WriteMilliseconds(writer, first);
        }
        else
        {
            writer.WriteNull("time_to_first_chunk_ms"u8);
        }

        writer.WriteStartObject("client"u8);
        writer.WritePropertyName("key_name"u8);
        MaskedJson.WriteString(writer, mask, record.Client?.KeyName);
        writer.WritePropertyName("user"u8);
        MaskedJson.WriteString(writer, mask, record.Client?.UserName);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static readonly Dictionary<string, string> EmptyHeaders = [];

    /// <summary>What both the request and the outcome row say of the exchange: API, method, path, model.</summary>
    private static void WriteExchange(Utf8JsonWriter writer, AuditRecord record, AuditMask mask)
    {
        writer.WriteString("api"u8, record.Api);
        writer.WriteString("method"u8, record.Method);
        writer.WritePropertyName("path"u8);
        MaskedJson.WriteString(writer, mask, record.Path);
        writer.WritePropertyName("model"u8);
        MaskedJson.WriteString(writer, mask, record.Model);
    }

    /// <summary>Writes a body masked, or <c>null</c>; <see langword="false"/> when there was one and it could not be read.</summary>
    private static bool Body(Utf8JsonWriter writer, byte[]? body, AuditMask mask)
    {
        if (body is null || body.Length == 0)
        {
            writer.WriteNullValue();
            return true;
        }

        // By the library's rules (UTF-8, surrogate escapes in pairs, depth, the token bound): a backend's error answer is
        // never validated before this.
        if (MaskedJson.TryCopy(writer, mask, body))
        {
            return true;
        }

        writer.WriteNullValue();
        return false;
    }

    /// <summary>
    /// Writes milliseconds to the microsecond (<c>12.345</c>, trailing zeros left out), as a number: a stream's
    /// timeline has one per event, and the general double formatting cost more than the rest of the timeline.
    /// </summary>
    internal static void WriteMilliseconds(Utf8JsonWriter writer, double ms)
    {
        if (!double.IsFinite(ms) || ms < 0 || ms >= 1e12)
        {
            writer.WriteNumberValue(ms);
            return;
        }

        var micros = (long)Math.Round(ms * 1000);
        Span<byte> text = stackalloc byte[24];
        Utf8Formatter.TryFormat(micros / 1000, text, out var length);
        var fraction = (int)(micros % 1000);
        if (fraction != 0)
        {
            text[length++] = (byte)'.';
            text[length++] = (byte)('0' + (fraction / 100));
            if (fraction % 100 != 0)
            {
                text[length++] = (byte)('0' + (fraction / 10 % 10));
                if (fraction % 10 != 0)
                {
                    text[length++] = (byte)('0' + (fraction % 10));
                }
            }
        }

        writer.WriteRawValue(text[..length], skipInputValidation: true);
    }

    private static void Tokens(Utf8JsonWriter writer, ReadOnlySpan<byte> name, long? tokens)
    {
        if (tokens is { } value)
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Token counts as a row states them.</summary>
    private readonly record struct Usage(long? Prompt, long? Completion, long? Total)
    {
        public static Usage From(JsonObject usage) => new(
            Tokens(usage, "prompt_tokens", "input_tokens"), Tokens(usage, "completion_tokens", "output_tokens"), Tokens(usage, "total_tokens", "total_tokens"));

        /// <summary>The <c>usage</c> object of a buffered answer's body, when it has one; read without building a tree.</summary>
        public static Usage? Read(ReadOnlySpan<byte> body)
        {
            if (!JsonHygiene.HasValidText(body))
            {
                return null;
            }

            try
            {
                var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = JsonHygiene.MaxDepth });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return null;
                }

                Usage? found = null;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isUsage = reader.ValueTextEquals("usage"u8);
                    reader.Read();
                    if (isUsage && reader.TokenType == JsonTokenType.StartObject)
                    {
                        found = ReadObject(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }

                // The whole body read: one that is not JSON after all has no usage (as the row has no body).
                return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? found : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static Usage ReadObject(ref Utf8JsonReader reader)
        {
            // prompt, completion, total, input, output: whether each was there, and its whole number if it was one.
            Span<bool> seen = stackalloc bool[5];
            Span<long> value = stackalloc long[5];
            Span<bool> number = stackalloc bool[5];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var slot = reader.ValueTextEquals("prompt_tokens"u8) ? 0
                    : reader.ValueTextEquals("completion_tokens"u8) ? 1
                    : reader.ValueTextEquals("total_tokens"u8) ? 2
                    : reader.ValueTextEquals("input_tokens"u8) ? 3
                    : reader.ValueTextEquals("output_tokens"u8) ? 4
                    : -1;
                reader.Read();
                if (slot >= 0)
                {
                    // The last of a repeated name, as a parser that keeps one would; only a whole number counts.
                    seen[slot] = true;
                    number[slot] = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out value[slot]);
                }

                reader.Skip();
            }

            long? Pick(ReadOnlySpan<bool> seen, ReadOnlySpan<bool> number, ReadOnlySpan<long> value, int name, int other)
            {
                var i = seen[name] ? name : other;
                return seen[i] && number[i] ? value[i] : null;
            }

            return new Usage(Pick(seen, number, value, 0, 3), Pick(seen, number, value, 1, 4), Pick(seen, number, value, 2, 2));
        }

        private static long? Tokens(JsonObject usage, string name, string other) =>
            (usage[name] ?? usage[other]) is JsonValue value && value.TryGetValue<long>(out var tokens) ? tokens : null;
    }

    /// <summary>A thread's buffer and writer for rows, reused from row to row (for the thread's life: nothing to dispose but memory).</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "Thread-static for the thread's life; the writer holds only managed memory.")]
    private sealed class RowWriter
    {
        private ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _writer;

        public RowWriter() => _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

        public string Write(AuditRecord record, AuditMask mask, Action<Utf8JsonWriter, AuditRecord, AuditMask> write)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            write(_writer, record, mask);
            _writer.Flush();
            var text = Encoding.UTF8.GetString(_buffer.WrittenSpan);
            if (_buffer.Capacity > 4 * 1024 * 1024)
            {
                _buffer = new ArrayBufferWriter<byte>(4096);
            }

            return text;
        }
    }
}
