using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Rebuilds contents after policies ran: the text, calls (and, for a stream, usage) come from the JSON, which is the
/// truth; every other content comes from the original, in its place.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Text: when the JSON's text is the originals' text joined, each original text content is rebuilt with its own
/// text (the split is kept); otherwise the whole text takes the place of the first original text content, and the
/// other text contents go. Text with no place is added at the end.</item>
/// <item>A call is matched to the original by its id: unchanged (same name, same arguments JSON) it keeps the original
/// arguments' objects; changed it is rebuilt from the JSON; not in the JSON (a policy removed or still holds it) it goes.
/// Calls with no original are added at the end, in the JSON's order.</item>
/// <item>Usage (when the JSON carries it): unchanged counts keep the original details (with their additional counts).</item>
/// <item>Everything else is kept as the same object, its <see cref="AIContent.RawRepresentation"/> and
/// <see cref="AIContent.AdditionalProperties"/> cleared (AIContent cannot be cloned; a provider's raw object may hold
/// the whole message, text a policy removed included). The original is consumed.</item>
/// </list>
/// Rebuilt contents have no raw representation, additional properties or annotations.
/// </remarks>
internal sealed class ContentMerger
{
    private readonly List<WireCall> _calls = [];
    private readonly List<bool> _placed = [];
    private string _text = string.Empty;
    private bool _keepSplit;
    private bool _textPlaced;
    private bool _usageCarried;
    private UsageDetails? _usage;
    private bool _usagePlaced;

    /// <summary>Starts a merge.</summary>
    /// <param name="text">The JSON's text (null when none).</param>
    /// <param name="calls">The JSON's complete calls, in order.</param>
    /// <param name="usageCarried">Whether usage contents are the JSON's to state (a stream's usage chunk).</param>
    /// <param name="usage">The JSON's usage, when carried.</param>
    /// <param name="originals">Every original content list the merge will see, for the text-split check.</param>
    public void Reset(string? text, IEnumerable<WireCall> calls, bool usageCarried, UsageDetails? usage, IEnumerable<IList<AIContent>> originals)
    {
        _text = text ?? string.Empty;
        _calls.Clear();
        _calls.AddRange(calls);
        _placed.Clear();
        _placed.AddRange(Enumerable.Repeat(false, _calls.Count));
        _usageCarried = usageCarried;
        _usage = usage;
        _usagePlaced = false;
        _textPlaced = false;
        _keepSplit = IsSameText(originals, _text);
    }

    /// <summary>Maps one original content list into <paramref name="target"/>.</summary>
    public void Map(IList<AIContent> original, IList<AIContent> target)
    {
        foreach (var content in original)
        {
            switch (content)
            {
                case TextContent text:
                    if (_keepSplit)
                    {
                        target.Add(new TextContent(text.Text));
                    }
                    else if (!_textPlaced && _text.Length > 0)
                    {
                        target.Add(new TextContent(_text));
                        _textPlaced = true;
                    }

                    break;
                case FunctionCallContent call:
                    var index = FindCall(call.CallId);
                    if (index >= 0)
                    {
                        _placed[index] = true;
                        target.Add(IsSame(call, _calls[index]) ? Copy(call) : ToCall(_calls[index]));
                    }

                    break;
                case UsageContent usage when _usageCarried:
                    if (_usage is not null && !_usagePlaced)
                    {
                        _usagePlaced = true;
                        target.Add(new UsageContent(UsageJson.SameCounts(usage.Details, _usage) ? usage.Details : _usage));
                    }

                    break;
                default:
                    content.RawRepresentation = null;
                    content.AdditionalProperties = null;
                    target.Add(content);
                    break;
            }
        }
    }

    /// <summary>Adds what had no place among the originals: text, then calls, then usage.</summary>
    public void AppendRest(IList<AIContent> target)
    {
        if (!_keepSplit && !_textPlaced && _text.Length > 0)
        {
            target.Add(new TextContent(_text));
            _textPlaced = true;
        }

        for (var i = 0; i < _calls.Count; i++)
        {
            if (!_placed[i])
            {
                _placed[i] = true;
                target.Add(ToCall(_calls[i]));
            }
        }

        if (_usageCarried && _usage is not null && !_usagePlaced)
        {
            _usagePlaced = true;
            target.Add(new UsageContent(_usage));
        }
    }

    /// <summary>A call from the JSON, with no original.</summary>
    public static FunctionCallContent ToCall(WireCall call) => FunctionArguments.ToCall(call.Id, call.Name, call.Arguments);

    private int FindCall(string callId)
    {
        for (var i = 0; i < _calls.Count; i++)
        {
            if (!_placed[i] && _calls[i].Id == callId)
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsSame(FunctionCallContent original, WireCall call) =>
        original.Name == call.Name && FunctionArguments.ToJson(original) == call.Arguments;

    private static FunctionCallContent Copy(FunctionCallContent call) => new(call.CallId, call.Name, call.Arguments)
    {
        Exception = call.Exception,
        InformationalOnly = call.InformationalOnly,

        // The raw text of arguments that are not a JSON object: the same text the JSON holds.
        RawRepresentation = call.Arguments is null ? call.RawRepresentation as string : null,
    };

    private static bool IsSameText(IEnumerable<IList<AIContent>> originals, string text)
    {
        var position = 0;
        foreach (var list in originals)
        {
            foreach (var content in list)
            {
                if (content is TextContent { Text: { } part })
                {
                    if (part.Length > text.Length - position || !text.AsSpan(position, part.Length).SequenceEqual(part))
                    {
                        return false;
                    }

                    position += part.Length;
                }
            }
        }

        return position == text.Length;
    }
}
