using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>Picks the adapter for a transaction's API.</summary>
internal static class WireFormats
{
    /// <summary>The adapter for one answer of this transaction (one instance per answer: it keeps what the answer repeats).</summary>
    public static WireFormat Create(Transaction transaction, bool stream) => transaction.Request.Kind switch
    {
        RequestKind.Responses => new ResponsesFormat(stream),
        RequestKind.Completion => new CompletionsFormat(stream),
        _ => new ChatCompletionsFormat(stream),
    };

    /// <summary>The adapter of the transaction's streamed answer, shared by everything that reads its chunks.</summary>
    public static WireFormat ForStream(Transaction transaction) =>
        transaction.Response.Format ??= Create(transaction, stream: true);

    /// <summary>
    /// How many answers the model gives side by side: <c>n</c> of chat and legacy completions, default 1; a Responses
    /// answer is one (its parts are slots, and ending any ends it).
    /// </summary>
    public static int AnswerCount(Transaction transaction) =>
        transaction.Request.Kind is RequestKind.ChatCompletion or RequestKind.Completion &&
        transaction.Request.Payload?["n"] is JsonValue v && v.TryGetValue(out int n) && n > 0 ? n : 1;
}
