using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Takes out of what the app gets what no policy read: a provider's raw objects (<c>RawRepresentation</c>) and extra
/// properties (<c>AdditionalProperties</c>). They can carry what the policies never saw in the wire form — a tool call's
/// argument fragments, a refusal, reasoning, logprobs — so an answer the policies read keeps only what they read. In
/// place: the objects are the next client's, made for this call.
/// </summary>
internal static class Unread
{
    /// <summary>Clears an update's and its contents' raw objects and extra properties.</summary>
    public static ChatResponseUpdate Clear(ChatResponseUpdate update)
    {
        update.RawRepresentation = null;
        update.AdditionalProperties = null;
        Clear(update.Contents);
        return update;
    }

    /// <summary>Clears a response's, its messages' and their contents' raw objects and extra properties.</summary>
    public static ChatResponse Clear(ChatResponse response)
    {
        response.RawRepresentation = null;
        response.AdditionalProperties = null;
        foreach (var message in response.Messages)
        {
            message.RawRepresentation = null;
            message.AdditionalProperties = null;
            Clear(message.Contents);
        }

        return response;
    }

    /// <summary>Clears a content's raw object and extra properties.</summary>
    public static void Clear(AIContent content)
    {
        content.RawRepresentation = null;
        content.AdditionalProperties = null;
    }

    private static void Clear(IList<AIContent> contents)
    {
        for (var i = 0; i < contents.Count; i++)
        {
            Clear(contents[i]);
        }
    }
}
