using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// One call through <see cref="LuthienChatClient"/>: the transaction made from the app's messages and options, and the
/// backend <c>SendBackendRequest</c> calls for it — the next chat client — with what the request policies left.
/// </summary>
internal sealed class ChatClientBackend : IBackendClient
{
    private readonly IChatClient _inner;
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private readonly bool _stream;
    private readonly JsonObject _payload;
    private readonly JsonNode? _sentMessages;
    private readonly string? _sentModel;
    private ChatResponse? _answer;
    private string? _answerJson;

    /// <summary>Prepares the call.</summary>
    /// <param name="inner">The next client.</param>
    /// <param name="messages">The app's messages.</param>
    /// <param name="options">The app's options.</param>
    /// <param name="stream">Whether the app asked for a stream.</param>
    public ChatClientBackend(IChatClient inner, IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        _inner = inner;
        _messages = messages as IList<ChatMessage> ?? [.. messages];
        _options = options;
        _stream = stream;
        _payload = ChatRequestJson.ToPayload(_messages, options, stream);

        // What the request policies may change, kept to tell later whether they did.
        _sentMessages = _payload["messages"]?.DeepClone();
        _sentModel = options?.ModelId;
    }

    /// <summary>The next client's streamed answer as the policies read it, once sent.</summary>
    public ChatClientStreamingIterator? Streamed { get; private set; }

    /// <summary>The transaction the policies see: a chat completion, its payload in the wire format.</summary>
    /// <param name="cancellationToken">The app's token.</param>
    public Transaction CreateTransaction(CancellationToken cancellationToken) =>
        new(TransactionRequest.Create(RequestKind.ChatCompletion, _payload), cancellationToken: cancellationToken) { HostBackend = this };

    /// <inheritdoc />
    public async ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken)
    {
        var (messages, options) = WhatToSend(transaction.Request);
        if (_stream)
        {
            Streamed = new ChatClientStreamingIterator(_inner, messages, options);
            transaction.Response.SetStream(200, Streamed);
            return;
        }

        ChatResponse answer;
        try
        {
            answer = await _inner.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InnerClientException(ex);
        }

        var completion = ChatResponseJson.ToCompletion(answer, requestedModel: options?.ModelId);
        _answer = answer;
        _answerJson = completion.ToJsonString();
        transaction.Response.SetJson(200, completion);
    }

    /// <summary>The buffered answer the app gets: the next client's own where no policy changed it, else rebuilt.</summary>
    /// <param name="transaction">The transaction, after the pipeline ran.</param>
    public ChatResponse Answer(Transaction transaction)
    {
        var response = transaction.Response;
        ThrowIfRefused(response);
        if (response.Payload is not JsonObject completion)
        {
            throw ControlFailureException.Internal("The policy chain's answer is not a chat completion.");
        }

        return _answer is not null && completion.ToJsonString() == _answerJson
            ? Unread.Clear(_answer)
            : ChatResponseJson.ToResponse(completion, _answer);
    }

    /// <summary>The streamed answer's chunks, after the policies.</summary>
    /// <param name="transaction">The transaction, after the pipeline ran.</param>
    public static StreamingResponseIterator Stream(Transaction transaction)
    {
        var response = transaction.Response;
        ThrowIfRefused(response);
        return response.Stream ?? throw ControlFailureException.Internal("The policy chain answered a streamed call without a stream.");
    }

    /// <summary>
    /// The messages and options for the next client: the app's own objects wherever the request policies left them as
    /// they were (so tools and content the wire format cannot carry reach it), else read back from the payload the
    /// policies changed. Messages with a raw representation are read back too: a client sends a raw message or part
    /// (M.E.AI's OpenAI client does) instead of the contents the policies read.
    /// </summary>
    private (IList<ChatMessage> Messages, ChatOptions? Options) WhatToSend(TransactionRequest request)
    {
        var payload = request.Payload ?? _payload;
        var messages = JsonNode.DeepEquals(payload["messages"], _sentMessages) && !HasRawRepresentation(_messages)
            ? _messages
            : ChatRequestJson.ToMessages(payload);
        var model = request.Model;
        var options = _options;
        if (model != _sentModel)
        {
            options = options?.Clone() ?? new ChatOptions();
            options.ModelId = model;
        }

        return (messages, options);
    }

    private static bool HasRawRepresentation(IList<ChatMessage> messages)
    {
        foreach (var message in messages)
        {
            if (message.RawRepresentation is not null)
            {
                return true;
            }

            foreach (var content in message.Contents)
            {
                if (content.RawRepresentation is not null)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>A policy answered in the backend's place with an error (a status other than 2xx): the app gets it as an exception.</summary>
    private static void ThrowIfRefused(TransactionResponse response)
    {
        if (!response.HasValue)
        {
            throw ControlFailureException.NoResponse();
        }

        if (response.StatusCode is { } status and (< 200 or > 299))
        {
            var message = response.Payload?["error"]?["message"] is JsonValue text && text.TryGetValue(out string? said)
                ? said
                : $"A policy answered with status {status}.";
            throw status == 401 ? ControlPolicyException.InvalidApiKey(message) : ControlPolicyException.PolicyViolation(message, status);
        }
    }
}
