namespace Luthien.Control;

/// <summary>
/// <see cref="PassthroughOptions.Allow"/>, parsed once: which methods and paths below the route prefix are forwarded
/// unparsed. Matching ignores case and one trailing slash, as routing does, and allocates nothing.
/// </summary>
internal sealed class PassthroughAllowList
{
    private const string Setting = "Luthien:Passthrough:Allow";

    /// <summary>
    /// Segments of the policed APIs' paths (chat/completions, completions, responses, and their Azure spellings): a path
    /// holding one is the API itself or below it (a stored response, a stored chat completion's messages), whose answer
    /// is model output.
    /// </summary>
    private static readonly string[] PolicedSegments = ["completions", "responses"];

    private readonly Entry[] _entries;

    private PassthroughAllowList(Entry[] entries, bool allowsAll)
    {
        _entries = entries;
        AllowsAll = allowsAll;
    }

    /// <summary>Whether the list is <c>"*"</c>: every path that is not policed is forwarded.</summary>
    public bool AllowsAll { get; }

    /// <summary>Parses the configured list (<see langword="null"/>: <see cref="PassthroughOptions.DefaultAllow"/>).</summary>
    /// <param name="allow">The configured entries.</param>
    /// <exception cref="ArgumentException">An entry is not <c>"METHOD path"</c> or <c>"*"</c>; the message names it.</exception>
    public static PassthroughAllowList Parse(IEnumerable<string>? allow)
    {
        var errors = new List<string>();
        var list = TryParse(allow, errors);
        return list ?? throw new ArgumentException(string.Join(" ", errors), nameof(allow));
    }

    /// <summary>Parses the configured list; each bad entry adds a message naming the setting and the entry.</summary>
    /// <param name="allow">The configured entries.</param>
    /// <param name="errors">Receives one message per bad entry.</param>
    /// <returns>The list, or <see langword="null"/> when an entry is bad.</returns>
    public static PassthroughAllowList? TryParse(IEnumerable<string>? allow, List<string> errors)
    {
        var entries = new List<Entry>();
        var allowsAll = false;
        var failed = false;
        foreach (var text in allow ?? PassthroughOptions.DefaultAllow)
        {
            var error = ParseEntry(text, out var entry);
            if (error is not null)
            {
                errors.Add($"{Setting}: the entry '{text}' {error}.");
                failed = true;
            }
            else if (entry is null)
            {
                allowsAll = true;
            }
            else
            {
                entries.Add(entry);
            }
        }

        return failed ? null : new PassthroughAllowList([.. entries], allowsAll);
    }

    /// <summary>Whether a request may be forwarded unparsed.</summary>
    /// <param name="method">The HTTP method.</param>
    /// <param name="path">The path below the route prefix, without its leading slash.</param>
    /// <returns><see langword="null"/> when allowed; otherwise the 404 <c>not_found</c> to answer with.</returns>
    public InvalidRequestException? Check(string method, string path)
    {
        var segments = Trim(path);
        if (IsPoliced(segments, out var served))
        {
            return NotFound(served
                ? $"Only POST {segments} is served here; it is never forwarded unparsed."
                : $"{segments} is a policed API's path or below one (chat/completions, completions, responses): what it returns, a stored answer say, is model output that would reach you unpoliced, so it is never forwarded, whatever {Setting} says.");
        }

        if (AllowsAll)
        {
            return null;
        }

        foreach (var entry in _entries)
        {
            if (entry.Matches(method, segments))
            {
                return null;
            }
        }

        return NotFound($"{method} {segments} is not forwarded: it is not listed in {Setting}.");
    }

    private static InvalidRequestException NotFound(string message) => InvalidRequestException.NotFound(message);

    /// <summary>
    /// Whether a path belongs to a policed API, which is only ever served parsed: one of its segments is
    /// <c>completions</c> or <c>responses</c> (ignoring case and matrix parameters such as <c>;x=1</c>, which some
    /// servers drop), so the APIs themselves, their Azure spellings and everything below them (<c>responses/{id}</c>).
    /// </summary>
    /// <param name="segments">The path, without leading and trailing slash.</param>
    /// <param name="served">Whether the path is one this proxy serves policed (with POST).</param>
    private static bool IsPoliced(ReadOnlySpan<char> segments, out bool served)
    {
        served = false;
        var policed = false;
        foreach (var range in segments.Split('/'))
        {
            var segment = segments[range];
            var semicolon = segment.IndexOf(';');
            if (semicolon >= 0)
            {
                segment = segment[..semicolon];
            }

            foreach (var name in PolicedSegments)
            {
                policed |= segment.Equals(name, StringComparison.OrdinalIgnoreCase);
            }
        }

        if (policed)
        {
            served = segments.Equals("completions", StringComparison.OrdinalIgnoreCase) ||
                segments.Equals("responses", StringComparison.OrdinalIgnoreCase) ||
                segments.Equals("chat/completions", StringComparison.OrdinalIgnoreCase);
        }

        return policed;
    }

    /// <summary>The path without its leading slash and one trailing slash.</summary>
    private static ReadOnlySpan<char> Trim(string path)
    {
        var span = path.AsSpan();
        if (span.StartsWith('/'))
        {
            span = span[1..];
        }

        return span.EndsWith('/') ? span[..^1] : span;
    }

    /// <summary>Parses one entry; <paramref name="entry"/> is <see langword="null"/> for <c>"*"</c>.</summary>
    private static string? ParseEntry(string? text, out Entry? entry)
    {
        entry = null;
        var trimmed = text.AsSpan().Trim();
        if (trimmed is "*")
        {
            return null;
        }

        var space = trimmed.IndexOfAny(' ', '\t');
        if (space <= 0)
        {
            return "is not \"METHOD path\" (e.g. \"GET models\") or \"*\"";
        }

        var method = trimmed[..space];
        foreach (var c in method)
        {
            if (!char.IsAsciiLetter(c))
            {
                return "does not start with an HTTP method (e.g. GET, POST)";
            }
        }

        var path = trimmed[space..].Trim();
        if (path.StartsWith('/'))
        {
            path = path[1..];
        }

        if (path.EndsWith('/'))
        {
            path = path[..^1];
        }

        var segments = new List<string>();
        var prefix = false;
        foreach (var range in path.Split('/'))
        {
            var segment = path[range];
            if (prefix)
            {
                return "has '*' before the end (only a trailing '*' is allowed)";
            }

            if (segment is "*")
            {
                prefix = true;
                continue;
            }

            if (segment.IsEmpty || segment is "." or "..")
            {
                return "has an empty, '.' or '..' segment";
            }

            foreach (var c in segment)
            {
                if (c is <= ' ' or >= '\u007f' or '*' or '%' or '?' or '#' or '\\' or ';')
                {
                    return $"has the character '{c}' in its path (only a whole trailing '*' segment is a wildcard)";
                }
            }

            segments.Add(segment.ToString());
        }

        if (segments.Count == 0 && !prefix)
        {
            return "has no path (use \"*\" to allow every path)";
        }

        if (IsPoliced(path, out _))
        {
            return "names a policed route or one below it (chat/completions, completions, responses), which is never forwarded unparsed";
        }

        entry = new Entry(method.ToString().ToUpperInvariant(), [.. segments], prefix);
        return null;
    }

    /// <summary>One <c>"METHOD path"</c>; with <see cref="Prefix"/>, the path's segments then at least one more.</summary>
    private sealed record Entry(string Method, string[] Segments, bool Prefix)
    {
        public bool Matches(string method, ReadOnlySpan<char> path)
        {
            if (!method.Equals(Method, StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            var index = 0;
            var rest = path;
            foreach (var expected in Segments)
            {
                var slash = rest.IndexOf('/');
                var segment = slash < 0 ? rest : rest[..slash];
                if (!segment.Equals(expected, StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }

                rest = slash < 0 ? [] : rest[(slash + 1)..];
                index++;
                if (slash < 0)
                {
                    // The path ended: an exact entry matches only if it ends here too; a prefix entry needs more.
                    return index == Segments.Length && !Prefix;
                }
            }

            // Every listed segment matched and the path goes on: only a prefix entry takes the rest.
            return Prefix && !rest.IsEmpty;
        }
    }
}
