using System.Text;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>Reads a streamed answer the way a client would notice an abort.</summary>
internal static class ResponseReading
{
    /// <summary>Reads the whole body; a connection cut before the end of the body counts as aborted, with what came before.</summary>
    public static async Task<(string Text, bool Aborted)> ReadToEndOrAbortAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            int read;
            while ((read = await body.ReadAsync(buffer)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            return (text.ToString(), false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            return (text.ToString(), true);
        }
    }
}
