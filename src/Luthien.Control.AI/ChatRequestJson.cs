using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Converts a chat request between Microsoft.Extensions.AI (<see cref="ChatMessage"/>s and <see cref="ChatOptions"/>) and
/// an OpenAI chat-completions request body, the form the policy pipeline reads.
/// </summary>
/// <remarks>
/// What the JSON carries: text; images (URLs, data URIs); audio as <c>input_audio</c>; other data and hosted files as
/// <c>file</c> parts; function calls and results; author names; and the options with a chat-completions member. Other
/// contents (reasoning, usage, …) and tools that are not functions are left out and counted, so the caller knows a
/// rebuilt request would lack them. A payload made here reads back (<see cref="ToMessages"/>, <see cref="ToOptions"/>)
/// into values that make the same payload again.
/// </remarks>
internal static class ChatRequestJson
{
    /// <summary>The request body for <paramref name="messages"/> and <paramref name="options"/>.</summary>
    /// <param name="messages">The messages; <see cref="ChatOptions.Instructions"/> goes before them as a system message.</param>
    /// <param name="options">The options, or <see langword="null"/>.</param>
    /// <param name="stream">Whether the request streams: then <c>stream</c> and <c>stream_options.include_usage</c> are set.</param>
    public static JsonObject ToPayload(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream) =>
        ToPayload(messages, options, stream, out _);

    /// <summary>The request body, and how many contents and tools it could not carry.</summary>
    /// <param name="messages">The messages.</param>
    /// <param name="options">The options, or <see langword="null"/>.</param>
    /// <param name="stream">Whether the request streams.</param>
    /// <param name="skipped">The number of contents and tools left out.</param>
    public static JsonObject ToPayload(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, out int skipped)
    {
        ArgumentNullException.ThrowIfNull(messages);
        skipped = 0;
        var payload = new JsonObject();
        if (options?.ModelId is { } model)
        {
            payload["model"] = model;
        }

        payload["messages"] = ChatMessageWriter.Write(messages, options?.Instructions, ref skipped);
        if (options is not null)
        {
            ChatOptionsJson.Write(payload, options, ref skipped);
        }

        if (stream)
        {
            payload["stream"] = true;
            payload["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return payload;
    }

    /// <summary>
    /// The call a client's chat-completions request body asks a chat client for: its messages and options, the model
    /// being <paramref name="model"/> when given (an Azure deployment route names it by its path).
    /// </summary>
    /// <param name="payload">The request body.</param>
    /// <param name="model">The request's model, or <see langword="null"/> for the body's.</param>
    /// <exception cref="InvalidRequestException">
    /// The body is not of a shape the chat-completions API accepts, or asks for more than one choice (<c>n</c>), which a
    /// chat client cannot answer: refused rather than answered with fewer choices than asked for.
    /// </exception>
    public static (List<ChatMessage> Messages, ChatOptions Options) ToCall(JsonObject payload, string? model)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (RequestFields.OptionalInteger(payload, "n") > 1)
        {
            throw new InvalidRequestException("'n' above 1 is not served: the backend is an IChatClient, which answers one choice.", "n");
        }

        var options = ToOptions(payload);
        if (model is not null)
        {
            options.ModelId = model;
        }

        return (ToMessages(payload), options);
    }

    /// <summary>The messages of a client's request body.</summary>
    /// <exception cref="InvalidRequestException">A message is not of a shape the chat-completions API accepts (the message names the field).</exception>
    public static List<ChatMessage> ToMessages(JsonObject payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        try
        {
            return ChatMessageReader.Read(payload);
        }
        catch (ArgumentException)
        {
            // An M.E.AI constructor refused a value the checks above let through: still the client's input, never a 500.
            throw new InvalidRequestException("'messages' holds a value the chat client cannot take.", "messages");
        }
    }

    /// <summary>
    /// The options of a client's request body. Members without a <see cref="ChatOptions"/> property (e.g. <c>user</c>,
    /// <c>n</c>, <c>logprobs</c>) are kept in <see cref="ChatOptions.AdditionalProperties"/> as <see cref="System.Text.Json.JsonElement"/>s.
    /// </summary>
    /// <exception cref="InvalidRequestException">A member is not of the shape the chat-completions API accepts.</exception>
    public static ChatOptions ToOptions(JsonObject payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        try
        {
            return ChatOptionsJson.Read(payload);
        }
        catch (ArgumentException)
        {
            throw new InvalidRequestException("The request holds an option value the chat client cannot take.");
        }
    }
}
