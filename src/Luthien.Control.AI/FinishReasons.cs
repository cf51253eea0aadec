using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>Maps <see cref="ChatFinishReason"/> to and from OpenAI's <c>finish_reason</c>.</summary>
internal static class FinishReasons
{
    /// <summary>
    /// The wire value: the four M.E.AI knows map to OpenAI's names; a value official clients would not parse becomes
    /// <c>stop</c> (with calls present, <c>tool_calls</c>), since everything the library writes must parse there.
    /// </summary>
    /// <param name="reason">The reason, or <see langword="null"/> when the source gave none.</param>
    /// <param name="hasCalls">Whether the message or update carries function calls.</param>
    public static string ToWire(ChatFinishReason reason, bool hasCalls)
    {
        if (reason == ChatFinishReason.Stop)
        {
            return "stop";
        }

        if (reason == ChatFinishReason.Length)
        {
            return "length";
        }

        if (reason == ChatFinishReason.ToolCalls)
        {
            return "tool_calls";
        }

        if (reason == ChatFinishReason.ContentFilter)
        {
            return "content_filter";
        }

        return reason.Value == "function_call" ? "function_call" : hasCalls ? "tool_calls" : "stop";
    }

    /// <summary>The M.E.AI value of a wire <c>finish_reason</c>; an unknown value is kept as it is, an empty one is none.</summary>
    /// <param name="value">The wire value, or <see langword="null"/>.</param>
    public static ChatFinishReason? FromWire(string? value) => string.IsNullOrWhiteSpace(value) ? null : value switch
    {
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(value),
    };
}
