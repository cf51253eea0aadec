using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <summary>Picks the adapter for a transaction's API.</summary>
internal static class WireFormats
{
    /// <summary>The adapter for one answer of this transaction (one instance per answer: it keeps what the answer repeats).</summary>
    public static WireFormat Create(Transaction transaction, bool stream) => new ChatCompletionsFormat(stream);

    /// <summary>The adapter of the transaction's streamed answer, shared by everything that reads its chunks.</summary>
    public static WireFormat ForStream(Transaction transaction) =>
        transaction.Response.Format ??= Create(transaction, stream: true);

    /// <summary>How many answers the model gives side by side: chat's <c>n</c>, default 1.</summary>
    public static int AnswerCount(Transaction transaction) =>
        transaction.Request.Payload?["n"] is JsonValue v && v.TryGetValue(out int n) && n > 0 ? n : 1;
}
