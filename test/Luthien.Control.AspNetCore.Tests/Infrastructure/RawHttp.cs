using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// HTTP/1.1 over a bare socket: the request line and headers go out byte for byte, as a hostile client would send
/// them (HttpClient would normalize the path and refuse odd headers).
/// </summary>
internal static class RawHttp
{
    /// <summary>
    /// Sends <paramref name="head"/> (request line and headers, without the blank line; each char one byte, Latin-1) and
    /// an optional JSON body.
    /// </summary>
    public static async Task<RawResponse> SendAsync(Uri server, string head, string? body = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var stream = tcp.GetStream();
        var bodyBytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        // The connection closes after the answer, so the answer is everything read; a test may name more in its own line.
        var connection = head.Contains("\r\nConnection:", StringComparison.OrdinalIgnoreCase) ? string.Empty : "Connection: close\r\n";
        var text = $"{head}\r\nHost: {server.Authority}\r\n{connection}" +
            (body is null ? string.Empty : $"Content-Type: application/json\r\nContent-Length: {bodyBytes.Length}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.Latin1.GetBytes(text));
        await stream.WriteAsync(bodyBytes);
        await stream.FlushAsync();

        // Read one whole answer (a kept-alive connection does not end with it).
        using var buffer = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var chunk = new byte[8192];
        int read;
        while (!RawResponse.IsComplete(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)) &&
            (read = await stream.ReadAsync(chunk, timeout.Token)) > 0)
        {
            buffer.Write(chunk, 0, read);
        }

        return RawResponse.Parse(buffer.ToArray());
    }
}

internal sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, string Body)
{
    public JsonNode? Json => JsonNode.Parse(Body);

    public string? ErrorCode => Json?["error"]?["code"]?.GetValue<string>();

    public string? ErrorMessage => Json?["error"]?["message"]?.GetValue<string>();

    public bool HasHeader(string name) => Headers.Any(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Whether <paramref name="bytes"/> hold a whole answer: head, then its Content-Length or last chunk.</summary>
    public static bool IsComplete(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var head = text[..end];
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).FirstOrDefault(p => p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase));
        if (length is not null)
        {
            return text.Length - end - 4 >= int.Parse(length[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        }

        // Neither: the answer ends when the connection does.
        return head.Contains("chunked", StringComparison.OrdinalIgnoreCase) && text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
    }

    public static RawResponse Parse(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(p => KeyValuePair.Create(p[0].Trim(), p[1].Trim())).ToList();
        var body = text[(end + 4)..];
        if (headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(body)));
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }
}
