using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>Writes a buffered answer (JSON, or a backend's error as it came) in one piece, with its length.</summary>
internal static class JsonResponseWriter
{
    /// <summary>Writes the head and the body.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="transaction">The transaction, whose response holds a buffered body.</param>
    public static async Task WriteAsync(HttpContext context, Transaction transaction)
    {
        var response = transaction.Response;
        ResponseHead.Write(context, transaction, response.StatusCode!.Value, response.ContentType);
        var body = response.Body;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, transaction.CancellationToken).ConfigureAwait(false);
    }
}
