using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

/// <summary>What a <see cref="ResponseContentPolicy"/> does with a match.</summary>
public enum ContentAction
{
    /// <summary>Replace each match with the replacement text.</summary>
    Redact,

    /// <summary>End the choice before the first match (<c>finish_reason: "content_filter"</c>).</summary>
    Block,
}

/// <summary>The text a <see cref="StreamingPatternFilter"/> lets out, and whether it blocked.</summary>
/// <param name="Text">Text safe to send now.</param>
/// <param name="Blocked">Whether a match was found and the action is <see cref="ContentAction.Block"/>: nothing more is let out.</param>
/// <param name="Redacted">Whether <paramref name="Text"/> had a match replaced (for the audit log's decisions).</param>
internal readonly record struct FilterOutput(string Text, bool Blocked, bool Redacted = false);

/// <summary>
/// Filters text that arrives in pieces. It lets out at once every character that cannot be part of a match, holds back
/// only text that could still become (or lengthen) a match, and applies the action to matches as soon as they are
/// certain. A match split across pieces is found as if the text had come whole.
/// </summary>
internal sealed class StreamingPatternFilter
{
    private readonly ContentPatterns _patterns;
    private readonly ContentAction _action;
    private readonly string _replacement;
    private readonly int _maxHoldbackChars;
    private readonly PatternPrefixAutomaton.Tracker _tracker;
    private readonly StringBuilder _pending = new();
    private long _pendingOffset;
    private bool _blocked;

    /// <summary>For tool-call arguments: the replacement JSON-escaped, and where the text let out so far stands in JSON.</summary>
    private readonly string? _jsonReplacement;
    private JsonTextCursor _cursor;

    /// <summary>The character just before the held text, as it came; null at the start of the text.</summary>
    private char? _before;

    /// <summary>Creates a filter for one text stream (one choice).</summary>
    /// <param name="patterns">The patterns.</param>
    /// <param name="action">What to do with a match.</param>
    /// <param name="replacement">The text that replaces a match, for <see cref="ContentAction.Redact"/>.</param>
    /// <param name="maxHoldbackChars">The most text held back at once.</param>
    /// <param name="jsonArguments">
    /// The text is a tool call's arguments: a redaction keeps JSON text JSON (<see cref="JsonArgumentsRedaction"/>).
    /// </param>
    public StreamingPatternFilter(ContentPatterns patterns, ContentAction action, string replacement, int maxHoldbackChars, bool jsonArguments = false)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentNullException.ThrowIfNull(replacement);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxHoldbackChars);
        _patterns = patterns;
        _action = action;
        _replacement = replacement;
        _maxHoldbackChars = maxHoldbackChars;
        _tracker = patterns.Automaton.CreateTracker();
        _jsonReplacement = jsonArguments ? JsonArgumentsRedaction.Escape(replacement) : null;
    }

    /// <summary>How many characters are held back.</summary>
    public int HeldChars => _pending.Length;

    /// <summary>Whether the filter blocked.</summary>
    public bool IsBlocked => _blocked;

    /// <summary>Adds text; returns what can be sent now.</summary>
    /// <param name="text">The next piece of text.</param>
    /// <exception cref="ControlException">More text would be held back than the limit allows (<see cref="ControlErrorKind.PolicyFailure"/>).</exception>
    public FilterOutput Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_blocked)
        {
            return new(string.Empty, true);
        }

        _tracker.Append(text);
        if (_pending.Length == 0 && !_tracker.MatchSeen && _tracker.PendingStart == _tracker.Length)
        {
            // The common case: nothing was held, nothing can match, nothing needs holding. The text goes out as it came.
            _pendingOffset += text.Length;
            _before = text.Length > 0 ? text[^1] : _before;
            if (_jsonReplacement is not null)
            {
                _cursor.Advance(text);
            }

            return new(text, false);
        }

        _pending.Append(text);
        var pendingStart = (int)(_tracker.PendingStart - _pendingOffset);
        var output = Release(pendingStart, final: false);
        if (_pending.Length > _maxHoldbackChars)
        {
            throw ControlFailureException.PolicyFailure($"The content policy would hold back more than the limit of {_maxHoldbackChars} characters.");
        }

        return output;
    }

    /// <summary>The text has ended: everything held back is decided and let out (or blocked).</summary>
    public FilterOutput Flush()
    {
        if (_blocked)
        {
            return new(string.Empty, true);
        }

        var output = Release(_pending.Length, final: true);
        _tracker.Reset();
        _before = null;
        _cursor = default;
        return output;
    }

    /// <summary>Applies the action to a whole text at once (non-streaming answers).</summary>
    /// <param name="patterns">The patterns.</param>
    /// <param name="action">The action.</param>
    /// <param name="replacement">The replacement, for redaction.</param>
    /// <param name="text">The text.</param>
    /// <param name="jsonArguments">The text is a tool call's arguments (see the constructor).</param>
    public static FilterOutput ApplyToWhole(ContentPatterns patterns, ContentAction action, string replacement, string text, bool jsonArguments = false)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        ArgumentNullException.ThrowIfNull(text);
        if (action == ContentAction.Block)
        {
            var match = patterns.Combined.Match(text);
            return match.Success ? new(text[..match.Index], true) : new(text, false);
        }

        if (jsonArguments)
        {
            var matches = patterns.Combined.Matches(text);
            return matches.Count == 0
                ? new(text, false)
                : new(JsonArgumentsRedaction.Redact(text, matches.Select(m => (m.Index, m.Length)), default, replacement, JsonArgumentsRedaction.Escape(replacement)), false, true);
        }

        var redacted = false;
        var result = patterns.Combined.Replace(text, _ =>
        {
            redacted = true;
            return replacement;
        });
        return new(result, false, redacted);
    }

    /// <summary>Lets out the text before <paramref name="limit"/>, less any match that crosses it.</summary>
    private FilterOutput Release(int limit, bool final)
    {
        var text = _pending.ToString();

        // The automaton accepts every match the regular expressions find (and possibly more): no acceptance, no match.
        var matches = _tracker.MatchSeen ? FindMatches(text) : [];
        if (_action == ContentAction.Block)
        {
            // A match found is the whole text's first only when it starts before the limit, where the text begins that
            // more characters could still make or change a match (at the end, the limit is the end). Until then only the
            // text before the limit goes out.
            if (matches.Length > 0 && matches[0].Index < limit)
            {
                _blocked = true;
                var safe = text[..matches[0].Index];
                _pending.Clear();
                return new(safe, true);
            }

            return Take(text, limit, static (t, _, _) => t, matches);
        }

        if (!final)
        {
            // A match that runs past the limit is not certain yet: keep it whole.
            foreach (var m in matches)
            {
                if (m.Index < limit && m.End > limit)
                {
                    limit = m.Index;
                    break;
                }
            }
        }

        return Take(text, limit, Redact, matches);
    }

    /// <summary>
    /// The matches in the held text, found as in the whole text: the regex also sees the character before it, so that
    /// <c>^ \A \b \B</c> judge its first character as they would there.
    /// </summary>
    private Found[] FindMatches(string text)
    {
        var (matches, shift) = _before is { } before ? (_patterns.Combined.Matches(before + text, 1), 1) : (_patterns.Combined.Matches(text), 0);
        var found = new Found[matches.Count];
        for (var i = 0; i < found.Length; i++)
        {
            found[i] = new(matches[i].Index - shift, matches[i].Length);
        }

        return found;
    }

    private FilterOutput Take(string text, int limit, Func<string, int, Found[], string> transform, Found[] matches)
    {
        if (limit <= 0)
        {
            return new(string.Empty, false);
        }

        var released = transform(text[..limit], limit, matches);
        if (_jsonReplacement is not null)
        {
            _cursor.Advance(text.AsSpan(0, limit));
        }

        _before = text[limit - 1];
        _pending.Remove(0, limit);
        _pendingOffset += limit;
        if (_pending.Length == 0)
        {
            _tracker.ClearMatchSeen();
        }

        // A match that ends inside what is let out was redacted in it (block never gets here with one).
        return new(released, false, AnyBefore(matches, limit));
    }

    private static bool AnyBefore(Found[] matches, int limit)
    {
        foreach (var match in matches)
        {
            if (match.Index < limit)
            {
                return true;
            }
        }

        return false;
    }

    private string Redact(string released, int limit, Found[] matches)
    {
        if (matches.Length == 0)
        {
            return released;
        }

        if (_jsonReplacement is not null)
        {
            return JsonArgumentsRedaction.Redact(released, matches.Select(m => (m.Index, m.Length)), _cursor, _replacement, _jsonReplacement);
        }

        var sb = new StringBuilder(released.Length);
        var position = 0;
        foreach (var m in matches)
        {
            if (m.End > limit)
            {
                break;
            }

            sb.Append(released, position, m.Index - position).Append(_replacement);
            position = m.End;
        }

        return sb.Append(released, position, released.Length - position).ToString();
    }

    /// <summary>A match in the held text.</summary>
    private readonly record struct Found(int Index, int Length)
    {
        public int End => Index + Length;
    }
}
