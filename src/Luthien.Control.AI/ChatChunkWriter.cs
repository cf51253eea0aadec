using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Writes the <see cref="ChatResponseUpdate"/>s of one stream as OpenAI <c>chat.completion.chunk</c> JSON, one chunk per
/// update. One writer per stream: it keeps the stream's <c>id</c>, <c>created</c> and <c>model</c> (from the first update
/// that has them) and a stable tool-call <c>index</c> per call id. Not thread-safe.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The delta has <c>role</c> on the stream's first choice and whenever the role changes; <c>content</c> is the
/// update's text contents joined, <c>refusal</c> its refusals (<see cref="ErrorContent"/> with code <c>Refusal</c>, or
/// the OpenAI client's raw update's refusal), <c>reasoning_content</c> its <see cref="TextReasoningContent"/>s; each <see cref="FunctionCallContent"/> (M.E.AI delivers a call whole) is one
/// <c>tool_calls</c> entry with id, name and all its arguments.</item>
/// <item>An update whose only contents are <see cref="UsageContent"/> (and no finish reason) is <c>"choices":[]</c> with
/// <c>usage</c>, as OpenAI sends it; usage in any other update is written beside its choice.</item>
/// <item><c>finish_reason</c> is one of OpenAI's values (see <see cref="FinishReasons.ToWire"/>); other contents
/// (reasoning, data, …) are not written.</item>
/// </list>
/// Written with a <see cref="Utf8JsonWriter"/> straight into the output: no JSON nodes, and no allocation per update
/// beyond what the output and function arguments need.
/// </remarks>
internal sealed class ChatChunkWriter : IDisposable
{
    private readonly TimeProvider _timeProvider;
    private readonly string? _requestedModel;
    private readonly Dictionary<string, int> _callIndexes = new(StringComparer.Ordinal);
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly ArrayBufferWriter<byte> _own = new(512);
    private Utf8JsonWriter? _writer;
    private Utf8JsonWriter? _scratchWriter;
    private string? _id;
    private long _created;
    private string? _model;
    private ChatRole? _role;
    private byte[]? _head;
    private string? _headModel;

    /// <summary>Creates a writer for one stream.</summary>
    /// <param name="timeProvider">For <c>created</c> when the first update has no <see cref="ChatResponseUpdate.CreatedAt"/>; the system clock when <see langword="null"/>.</param>
    /// <param name="requestedModel">The model the call asked for: <c>model</c> until an update names the one that answered (many chat clients never do).</param>
    public ChatChunkWriter(TimeProvider? timeProvider = null, string? requestedModel = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _requestedModel = requestedModel;
    }

    /// <summary>The stream's <c>id</c>, once the first chunk is written.</summary>
    public string? Id => _id;

    /// <summary>Writes the chunk for <paramref name="update"/> into <paramref name="output"/>.</summary>
    public void Write(ChatResponseUpdate update, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(output);
        _id ??= update.ResponseId ?? WireJson.NewCompletionId();
        if (_created == 0)
        {
            _created = WireJson.UnixSeconds(update.CreatedAt, _timeProvider);
        }

        _model ??= update.ModelId;

        // What every chunk of the stream repeats, written once: {"id":…,"object":…,"created":…,"model":…,"choices":[
        if (_head is null || !ReferenceEquals(_headModel, _model))
        {
            _head = Head();
            _headModel = _model;
        }

        output.Write(_head);
        var writer = _writer ??= new Utf8JsonWriter(output, WireJson.WriterOptions);
        var usage = Usage(update.Contents, out var onlyUsage);
        if (!onlyUsage || update.FinishReason is not null)
        {
            writer.Reset(output);
            WriteChoice(writer, update);
            writer.Flush();
        }

        if (usage is null)
        {
            output.Write("]}"u8);
            return;
        }

        output.Write("],\"usage\":"u8);
        writer.Reset(output);
        UsageJson.Write(writer, usage);
        writer.Flush();
        output.Write("}"u8);
    }

    private byte[] Head()
    {
        var head = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(head, WireJson.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, _id);
            writer.WriteString("object"u8, "chat.completion.chunk"u8);
            writer.WriteNumber("created"u8, _created);
            writer.WriteString("model"u8, _model ?? _requestedModel ?? string.Empty);
            writer.WriteStartArray("choices"u8);

            // Flushed with the object and the array still open: the chunks close them.
            writer.Flush();
        }

        return head.WrittenSpan.ToArray();
    }

    /// <summary>The chunk for <paramref name="update"/>, as UTF-8 JSON.</summary>
    public byte[] Write(ChatResponseUpdate update) => WriteToScratch(update).ToArray();

    /// <summary>
    /// The chunk for <paramref name="update"/>, as UTF-8 JSON in the writer's own buffer: valid until the next write.
    /// </summary>
    public ReadOnlySpan<byte> WriteToScratch(ChatResponseUpdate update)
    {
        _own.ResetWrittenCount();
        Write(update, _own);
        return _own.WrittenSpan;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _writer?.Dispose();
        _scratchWriter?.Dispose();
    }

    private void WriteChoice(Utf8JsonWriter writer, ChatResponseUpdate update)
    {
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("delta"u8);
        var role = update.Role ?? _role ?? ChatRole.Assistant;
        if (_role is null || role != _role)
        {
            writer.WriteString("role"u8, role.Value);
            _role = role;
        }

        WriteTexts(writer, update);
        var wroteCalls = false;
        var contents = update.Contents;
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is FunctionCallContent call)
            {
                if (!wroteCalls)
                {
                    writer.WriteStartArray("tool_calls"u8);
                    wroteCalls = true;
                }

                WriteCall(writer, call);
            }
        }

        if (wroteCalls)
        {
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        writer.WriteNull("logprobs"u8);
        if (update.FinishReason is { } reason)
        {
            writer.WriteString("finish_reason"u8, FinishReasons.ToWire(reason, _callIndexes.Count > 0));
        }
        else
        {
            writer.WriteNull("finish_reason"u8);
        }

        writer.WriteEndObject();
    }

    private static void WriteTexts(Utf8JsonWriter writer, ChatResponseUpdate update)
    {
        var contents = update.Contents;
        WriteJoined(writer, "content"u8, contents, TextKind.Content);
        if (!WriteJoined(writer, "refusal"u8, contents, TextKind.Refusal)
            && update.RawRepresentation is OpenAI.Chat.StreamingChatCompletionUpdate { RefusalUpdate: { Length: > 0 } refusal })
        {
            // M.E.AI's OpenAI client leaves a streamed refusal in the raw update only: the policies must still read it.
            writer.WriteString("refusal"u8, refusal);
        }

        WriteJoined(writer, "reasoning_content"u8, contents, TextKind.Reasoning);
    }

    /// <summary>Writes the texts of one kind as one string member; false when the update has none.</summary>
    private static bool WriteJoined(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IList<AIContent> contents, TextKind kind)
    {
        string? first = null;
        var several = false;
        for (var i = 0; i < contents.Count; i++)
        {
            if (TextOf(contents[i], kind) is { } text)
            {
                if (first is null)
                {
                    first = text;
                }
                else
                {
                    several = true;
                    break;
                }
            }
        }

        if (first is null)
        {
            return false;
        }

        if (!several)
        {
            writer.WriteString(name, first);
            return true;
        }

        // Several contents are one string; segments keep a surrogate pair split between two contents whole.
        writer.WritePropertyName(name);
        for (var i = 0; i < contents.Count; i++)
        {
            if (TextOf(contents[i], kind) is { } text)
            {
                writer.WriteStringValueSegment(text, isFinalSegment: false);
            }
        }

        writer.WriteStringValueSegment(ReadOnlySpan<char>.Empty, isFinalSegment: true);
        return true;
    }

    private static string? TextOf(AIContent content, TextKind kind) => (kind, content) switch
    {
        (TextKind.Content, TextContent text) => text.Text ?? string.Empty,
        (TextKind.Refusal, ErrorContent error) when WireTexts.IsRefusal(error) => error.Message ?? string.Empty,
        (TextKind.Reasoning, TextReasoningContent reasoning) => reasoning.Text ?? string.Empty,
        _ => null,
    };

    private void WriteCall(Utf8JsonWriter writer, FunctionCallContent call)
    {
        if (!_callIndexes.TryGetValue(call.CallId, out var index))
        {
            index = _callIndexes.Count;
            _callIndexes.Add(call.CallId, index);
        }

        writer.WriteStartObject();
        writer.WriteNumber("index"u8, index);
        writer.WriteString("id"u8, call.CallId);
        writer.WriteString("type"u8, "function"u8);
        writer.WriteStartObject("function"u8);
        writer.WriteString("name"u8, call.Name);
        FunctionArguments.WriteUtf8(call, _scratch, _scratchWriter ??= new Utf8JsonWriter(_scratch, WireJson.WriterOptions));
        writer.WriteString("arguments"u8, _scratch.WrittenSpan);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static UsageDetails? Usage(IList<AIContent> contents, out bool onlyUsage)
    {
        UsageDetails? usage = null;
        onlyUsage = contents.Count > 0;
        for (var i = 0; i < contents.Count; i++)
        {
            if (contents[i] is UsageContent usageContent)
            {
                if (usage is null)
                {
                    usage = usageContent.Details;
                }
                else
                {
                    // Several usages in one update: their sum, in a new object so no original is changed.
                    var sum = new UsageDetails();
                    sum.Add(usage);
                    sum.Add(usageContent.Details);
                    usage = sum;
                }
            }
            else
            {
                onlyUsage = false;
            }
        }

        return usage;
    }

    private enum TextKind
    {
        Content,
        Refusal,
        Reasoning,
    }
}
