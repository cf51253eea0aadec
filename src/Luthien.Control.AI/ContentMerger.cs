using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Rebuilds contents after policies ran: the texts (answer, refusal, reasoning), the calls (and, for a stream, usage)
/// come from the JSON, which is the truth; every other content comes from the original, in its place.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Each kind of text (<see cref="TextContent"/>, a refusal <see cref="ErrorContent"/>, <see cref="TextReasoningContent"/>)
/// on its own: the originals whose text begins or ends the JSON's text are rebuilt with their own (so an unchanged text
/// keeps its split, and a change in one message leaves the others as they were); the text between them takes the place
/// of the first other original of its kind, and the remaining others go. Text with no place is added at the end.</item>
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
    private readonly TextChannel _text = new(static c => c is TextContent, static (_, t) => new TextContent(t));
    private readonly TextChannel _refusal = new(WireTexts.IsRefusal, static (_, t) => WireTexts.NewRefusal(t));

    private readonly TextChannel _reasoning = new(static c => c is TextReasoningContent, static (original, t) => Reasoning(original as TextReasoningContent, t));

    private bool _usageCarried;
    private UsageDetails? _usage;
    private bool _usagePlaced;

    /// <summary>Starts a merge.</summary>
    /// <param name="texts">The JSON's texts.</param>
    /// <param name="calls">The JSON's complete calls, in order.</param>
    /// <param name="usageCarried">Whether usage contents are the JSON's to state (a stream's usage chunk).</param>
    /// <param name="usage">The JSON's usage, when carried.</param>
    /// <param name="originals">Every original content list the merge will see, for the text-split check.</param>
    public void Reset(WireTexts texts, IEnumerable<WireCall> calls, bool usageCarried, UsageDetails? usage, IReadOnlyCollection<IList<AIContent>> originals)
    {
        _calls.Clear();
        _calls.AddRange(calls);
        _placed.Clear();
        _placed.AddRange(Enumerable.Repeat(false, _calls.Count));
        _usageCarried = usageCarried;
        _usage = usage;
        _usagePlaced = false;
        _text.Reset(texts.Content, originals);
        _refusal.Reset(texts.Refusal, originals);
        _reasoning.Reset(texts.Reasoning, originals);
    }

    /// <summary>Maps one original content list into <paramref name="target"/>.</summary>
    public void Map(IList<AIContent> original, IList<AIContent> target)
    {
        foreach (var content in original)
        {
            if (_text.TryMap(content, target) || _refusal.TryMap(content, target) || _reasoning.TryMap(content, target))
            {
                continue;
            }

            switch (content)
            {
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
                    Unread.Clear(content);
                    target.Add(content);
                    break;
            }
        }
    }

    /// <summary>Adds what had no place among the originals: reasoning, text, refusal, then calls, then usage.</summary>
    public void AppendRest(IList<AIContent> target)
    {
        _reasoning.AppendRest(target);
        _text.AppendRest(target);
        _refusal.AppendRest(target);
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

    /// <summary>Protected data is the provider's encrypted copy of the reasoning: kept only with the reasoning's own, unchanged text.</summary>
    private static TextReasoningContent Reasoning(TextReasoningContent? original, string text) =>
        new(text) { ProtectedData = original is not null && original.Text == text ? original.ProtectedData : null };

    private static bool IsSame(FunctionCallContent original, WireCall call) =>
        original.Name == call.Name && FunctionArguments.ToJson(original) == call.Arguments;

    private static FunctionCallContent Copy(FunctionCallContent call) => new(call.CallId, call.Name, call.Arguments)
    {
        Exception = call.Exception,
        InformationalOnly = call.InformationalOnly,

        // The raw text of arguments that are not a JSON object: the same text the JSON holds.
        RawRepresentation = call.Arguments is null ? call.RawRepresentation as string : null,
    };

    /// <summary>
    /// One kind of text: which contents hold it, how a content of it is made, and where the JSON's text goes. The
    /// originals that begin and end the JSON's text keep their own; what lies between (what a policy changed) takes the
    /// place of the first original not kept, and the others go.
    /// </summary>
    private sealed class TextChannel(Func<AIContent, bool> holds, Func<AIContent?, string, AIContent> create)
    {
        private readonly List<string> _parts = [];
        private string _middle = string.Empty;
        private int _kept;
        private int _keptAtEnd;
        private int _seen;
        private bool _middlePlaced;

        public void Reset(string? text, IReadOnlyCollection<IList<AIContent>> originals)
        {
            var whole = text ?? string.Empty;
            _parts.Clear();
            foreach (var list in originals)
            {
                foreach (var content in list)
                {
                    if (holds(content))
                    {
                        _parts.Add(TextOf(content));
                    }
                }
            }

            var start = 0;
            _kept = 0;
            while (_kept < _parts.Count && whole.AsSpan(start).StartsWith(_parts[_kept], StringComparison.Ordinal))
            {
                start += _parts[_kept].Length;
                _kept++;
            }

            var end = whole.Length;
            _keptAtEnd = 0;
            while (_kept + _keptAtEnd < _parts.Count)
            {
                var part = _parts[^(_keptAtEnd + 1)];
                if (end - part.Length < start || !whole.AsSpan(0, end).EndsWith(part, StringComparison.Ordinal))
                {
                    break;
                }

                end -= part.Length;
                _keptAtEnd++;
            }

            _middle = whole[start..end];
            _seen = 0;
            _middlePlaced = _middle.Length == 0;
        }

        public bool TryMap(AIContent content, IList<AIContent> target)
        {
            if (!holds(content))
            {
                return false;
            }

            var index = _seen++;
            if (index < _kept || index >= _parts.Count - _keptAtEnd)
            {
                if (!_middlePlaced && index >= _parts.Count - _keptAtEnd)
                {
                    // Every original before the change was kept: the changed text goes before the first kept at the end.
                    target.Add(create(null, _middle));
                    _middlePlaced = true;
                }

                target.Add(create(content, TextOf(content)));
            }
            else if (!_middlePlaced)
            {
                target.Add(create(content, _middle));
                _middlePlaced = true;
            }

            return true;
        }

        public void AppendRest(IList<AIContent> target)
        {
            if (!_middlePlaced)
            {
                target.Add(create(null, _middle));
                _middlePlaced = true;
            }
        }

        private static string TextOf(AIContent content) => content switch
        {
            TextContent text => text.Text ?? string.Empty,
            TextReasoningContent reasoning => reasoning.Text ?? string.Empty,
            ErrorContent error => error.Message ?? string.Empty,
            _ => string.Empty,
        };
    }
}
