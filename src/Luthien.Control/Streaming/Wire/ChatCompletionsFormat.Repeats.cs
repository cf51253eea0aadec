using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <content>
/// What a choice carries beside its text that repeats that text, made consistent with what the policies let through.
/// </content>
/// <remarks>
/// <list type="bullet">
/// <item><c>logprobs.content</c> lists the tokens of the choice's content (<c>token</c>, <c>bytes</c>, <c>top_logprobs</c>),
/// <c>logprobs.refusal</c> those of its refusal. Once a policy changed, removed or added to the content of a choice in a
/// chunk (or the buffered message), the tokens there would spell out what it took out, and text it added has no tokens:
/// <c>logprobs.content</c> of that choice goes out as <c>null</c>, and so does every other member of <c>logprobs</c> but
/// <c>refusal</c> (a vendor's extra token lists repeat the text just as well). <c>logprobs.refusal</c> goes the same way
/// when the refusal changed. A <c>logprobs</c> that is not an object at all goes out as <c>null</c>.</item>
/// <item><c>audio.data</c> is the speech of the words <c>audio.transcript</c> writes down. When a policy changed the
/// transcript of a choice in a chunk (or the message), the audio of that chunk (message) is not sent: removed from a
/// chunk, <c>""</c> (no audio) in a buffered message, whose clients expect the member. Limit: in a stream the audio does
/// not come in the chunks of the transcript pieces it speaks (OpenAI sends the transcript first, the audio in later
/// chunks of its own); audio in other chunks is not aligned with what was changed and passes as it came. A policy that
/// must keep words out of the speech has to end the choice (block), not redact.</item>
/// <item><c>annotations</c> (e.g. <c>url_citation</c>: a title and URL, with offsets into the content) repeat words of the
/// content and point into it: once the content changed, the offsets point elsewhere and a cited URL or title may be the
/// very text taken out, so they go (<c>[]</c> in a buffered message, removed from a chunk). In a stream, annotations
/// that arrive in a chunk whose text did not change pass as they came.</item>
/// </list>
/// </remarks>
internal sealed partial class ChatCompletionsFormat
{
    [Flags]
    private enum Changed
    {
        None = 0,
        Content = 1,
        Refusal = 2,
        Transcript = 4,
    }

    /// <summary>Makes what repeats a changed text in its choice entry say nothing of the text that was there.</summary>
    private void ForgetWhatRepeatsChangedText(JsonArray choices, IReadOnlyList<OutputEvent> events, IReadOnlySet<int>? removedSlots)
    {
        Dictionary<int, Changed>? changed = null;
        foreach (var output in events)
        {
            var what = output.Kind switch
            {
                OutputKind.Text => Changed.Content,
                OutputKind.Refusal => Changed.Refusal,
                OutputKind.AudioTranscript => Changed.Transcript,
                _ => Changed.None,
            };
            if (what == Changed.None || !ChangesText(output) || removedSlots?.Contains(output.Slot) == true)
            {
                continue;
            }

            changed ??= [];
            changed[output.Slot] = changed.GetValueOrDefault(output.Slot) | what;
        }

        if (changed is null)
        {
            return;
        }

        foreach (var (slot, what) in changed)
        {
            if (ChatChunks.Find(choices, slot) is not { } entry)
            {
                continue;
            }

            ForgetLogprobs(entry, what);
            if (entry[_member] is not JsonObject message)
            {
                continue;
            }

            if (what.HasFlag(Changed.Transcript) && message["audio"] is JsonObject audio && audio.ContainsKey("data"))
            {
                if (IsStream)
                {
                    audio.Remove("data");
                    if (audio.Count == 0)
                    {
                        message.Remove("audio");
                    }
                }
                else
                {
                    audio["data"] = string.Empty;
                }
            }

            if (what.HasFlag(Changed.Content) && message.TryGetPropertyValue("annotations", out var annotations) && annotations is not null)
            {
                if (IsStream)
                {
                    message.Remove("annotations");
                }
                else
                {
                    message["annotations"] = new JsonArray();
                }
            }
        }
    }

    private static void ForgetLogprobs(JsonObject entry, Changed what)
    {
        if (!what.HasFlag(Changed.Content) && !what.HasFlag(Changed.Refusal))
        {
            return;
        }

        switch (entry["logprobs"])
        {
            case null:
                return;
            case JsonObject logprobs:
                foreach (var name in logprobs.Select(p => p.Key).ToList())
                {
                    var isRefusal = name == "refusal";
                    if (isRefusal ? what.HasFlag(Changed.Refusal) : what.HasFlag(Changed.Content))
                    {
                        logprobs[name] = null;
                    }
                }

                return;
            default:
                // A shape this adapter does not know may spell out the text all the same.
                entry["logprobs"] = null;
                return;
        }
    }

    /// <summary>Whether the event changes what the client reads of its text: changed, removed, or added with some text.</summary>
    private static bool ChangesText(OutputEvent output) =>
        output.IsAdded ? !output.IsRemoved && output.Text.Length > 0 : output.IsModified || output.IsRemoved;
}
