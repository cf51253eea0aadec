using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Takes request paths literally. A path that a server along the way could read differently from the route that
/// matched it (empty or dot segments, backslashes, encoded separators or percent signs, whitespace or control
/// characters) is refused before anything else, so nothing decides on one path while the backend serves another.
/// </summary>
internal static class LiteralPath
{
    /// <summary>
    /// Checks the request's raw target (as the client sent it) and its decoded path.
    /// </summary>
    /// <param name="context">The exchange.</param>
    /// <returns><see langword="null"/> when the path is canonical; otherwise the 400 <c>invalid_request</c> to answer with.</returns>
    public static InvalidRequestException? Check(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var reason = (string.IsNullOrEmpty(rawTarget) ? null : CheckRaw(PathOf(rawTarget))) ??
            CheckDecoded(context.Request.PathBase.Value) ??
            CheckDecoded(context.Request.Path.Value);
        return reason is null
            ? null
            : new InvalidRequestException($"The request path is not canonical: {reason}. Send the path exactly as the API documents it.");
    }

    /// <summary>The path part of a request target: origin form (<c>/a?q</c>) or absolute form (<c>http://h/a?q</c>).</summary>
    internal static ReadOnlySpan<char> PathOf(string rawTarget)
    {
        var target = rawTarget.AsSpan();
        if (!target.StartsWith('/'))
        {
            var scheme = target.IndexOf("://", StringComparison.Ordinal);
            if (scheme < 0)
            {
                // Asterisk or authority form: no path of ours; a route never matches one.
                return target;
            }

            target = target[(scheme + 3)..];
            var slash = target.IndexOfAny('/', '?', '#');
            target = slash < 0 || target[slash] != '/' ? "/" : target[slash..];
        }

        var end = target.IndexOf('?');
        return end < 0 ? target : target[..end];
    }

    /// <summary>Why a raw (still percent-encoded) path is not canonical, or <see langword="null"/>.</summary>
    internal static string? CheckRaw(ReadOnlySpan<char> path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '\\')
            {
                return "it contains a backslash";
            }

            if (c <= ' ' || c >= '\u007f')
            {
                return "it contains whitespace, a control character or a character that is not ASCII";
            }

            if (c == '#')
            {
                return "it contains '#'";
            }

            if (c == '%')
            {
                if (i + 2 >= path.Length || !IsHex(path[i + 1]) || !IsHex(path[i + 2]))
                {
                    return "it contains a '%' that does not start an escape";
                }

                var decoded = (char)((HexValue(path[i + 1]) << 4) | HexValue(path[i + 2]));
                if (decoded is '/' or '\\' or '.' or '?' or '#' or '%')
                {
                    return $"it contains an encoded '{decoded}'";
                }

                if (decoded <= ' ' || decoded == '\u007f')
                {
                    return "it contains encoded whitespace or an encoded control character";
                }

                i += 2;
            }
        }

        return HasInvalidEncodedUtf8(path) ? "its escapes are not valid UTF-8 (an overlong form, say)" : CheckSegments(path);
    }

    /// <summary>
    /// Whether the path's escapes spell bytes that are not valid UTF-8: an overlong form such as <c>%C0%AE</c> is a dot to
    /// a lenient decoder behind the library, and no client sends one for a real path.
    /// </summary>
    private static bool HasInvalidEncodedUtf8(ReadOnlySpan<char> path)
    {
        if (path.IndexOf('%') < 0)
        {
            return false;
        }

        Span<byte> bytes = path.Length <= 512 ? stackalloc byte[path.Length] : new byte[path.Length];
        var length = 0;
        for (var i = 0; i < path.Length; i++)
        {
            // The loop above has refused escapes that are not two hex digits, and every character that is not ASCII.
            if (path[i] == '%' && i + 2 < path.Length)
            {
                bytes[length++] = (byte)((HexValue(path[i + 1]) << 4) | HexValue(path[i + 2]));
                i += 2;
            }
            else
            {
                bytes[length++] = (byte)path[i];
            }
        }

        return !System.Text.Unicode.Utf8.IsValid(bytes[..length]);
    }

    /// <summary>Why a decoded path is not canonical, or <see langword="null"/>; catches what a server decoded its own way.</summary>
    internal static string? CheckDecoded(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        foreach (var c in path)
        {
            if (c == '\\')
            {
                return "it contains a backslash";
            }

            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return "it contains whitespace or a control character";
            }
        }

        return CheckSegments(path);
    }

    /// <summary>An empty segment (<c>//</c>), a <c>.</c> / <c>..</c> segment, or one ending in a dot; one trailing slash is allowed.</summary>
    private static string? CheckSegments(ReadOnlySpan<char> path)
    {
        if (path.IsEmpty || path is "/")
        {
            return null;
        }

        // One trailing slash is ignored, as routing ignores it; past the leading slash every segment must be real.
        var inner = path.StartsWith('/') ? path[1..] : path;
        if (inner.EndsWith('/'))
        {
            inner = inner[..^1];
        }

        foreach (var range in inner.Split('/'))
        {
            var segment = inner[range];
            if (segment.IsEmpty)
            {
                return "it has an empty segment ('//')";
            }

            if (segment is "." or "..")
            {
                return "it has a '.' or '..' segment";
            }

            // Some servers (IIS among them) drop trailing dots, so `completions.` could reach a policed endpoint there.
            if (segment[^1] == '.')
            {
                return "a segment ends with '.'";
            }
        }

        return null;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
