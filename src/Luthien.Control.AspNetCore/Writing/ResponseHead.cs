using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>The head every response gets, whichever writer writes its body.</summary>
internal static class ResponseHead
{
    /// <summary>The header that names the transaction on every proxied response, errors included.</summary>
    public const string TransactionIdHeader = "x-luthien-transaction-id";

    /// <summary>Makes a new transaction id and sets its header at once, so that even an early error carries it.</summary>
    /// <param name="context">The exchange.</param>
    /// <returns>The id.</returns>
    public static string StartTransaction(HttpContext context)
    {
        var id = Transaction.NewId();
        context.Response.Headers[TransactionIdHeader] = id;
        return id;
    }

    /// <summary>The response head: status, the backend's headers that may pass, content type, transaction id.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="transaction">The transaction.</param>
    /// <param name="status">The status.</param>
    /// <param name="contentType">The content type, or <see langword="null"/> to leave it unset.</param>
    public static void Write(HttpContext context, Transaction transaction, int status, string? contentType)
    {
        var response = context.Response;
        response.StatusCode = status;
        foreach (var (name, values) in transaction.Response.Headers)
        {
            if (!ProxyHeaders.IsHopByHop(name) || (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && transaction.Response.BodyStream is not null))
            {
                response.Headers[name] = values;
            }
        }

        if (contentType is not null)
        {
            response.ContentType = contentType;
        }

        response.Headers[TransactionIdHeader] = transaction.Id;
    }
}
