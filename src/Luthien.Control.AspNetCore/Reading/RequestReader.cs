using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Turns an HTTP request into a <see cref="Transaction"/>: the path checked before anything is read, a policed body
/// (chat, Responses, legacy completions) read whole within the limit and parsed, a pass-through body left to stream
/// within the same limit, and the credential names the options configure.
/// </summary>
internal sealed class RequestReader(IOptionsMonitor<LuthienOptions> options, TimeProvider timeProvider)
{
    /// <summary>What logs and metrics call a refused path: a fixed label, never whatever a client put in it.</summary>
    public const string RefusedPath = "(refused path)";

    private static readonly Func<long, Exception> TooLarge = static limit => InvalidRequestException.TooLarge(limit);

    private static readonly Func<Exception> EndedEarly = static () => new InvalidRequestException("The request body ended before its declared length.");

    private RequestRules? _rules;

    /// <summary>Checks the path before anything is read: taken literally, and for pass-through, allowed.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="path">The path below the route prefix.</param>
    /// <param name="kind">Which policed API the route serves, or pass-through.</param>
    /// <param name="notServed">Why a route that serves nothing refuses every request (after the literal check).</param>
    /// <returns>Why the request is refused, or <see langword="null"/> when it may be read.</returns>
    public InvalidRequestException? Check(HttpContext context, string path, RequestKind kind, InvalidRequestException? notServed = null) =>
        LiteralPath.Check(context) ?? notServed ??
        (kind == RequestKind.Passthrough ? Rules().Passthrough.Check(context.Request.Method, path) : null);

    /// <summary>Reads the request into a transaction.</summary>
    /// <param name="context">The exchange.</param>
    /// <param name="path">The path below the route prefix (checked).</param>
    /// <param name="kind">Which policed API the route serves, or pass-through.</param>
    /// <param name="transactionId">The id the response already carries.</param>
    /// <param name="deployment">The deployment an Azure route names: the model when the body names none.</param>
    /// <exception cref="InvalidRequestException">The body is over the limit, ends early, or is not a valid request.</exception>
    public async ValueTask<Transaction> ReadAsync(HttpContext context, string path, RequestKind kind, string transactionId, string? deployment = null)
    {
        var startedAt = timeProvider.GetUtcNow();
        var rules = Rules();
        var limit = rules.Options.Limits.MaxRequestBodyBytes;
        var request = kind == RequestKind.Passthrough
            ? ReadPassthrough(context, path, limit)
            : await ReadPolicedAsync(context, path, kind, deployment, limit).ConfigureAwait(false);
        request.Credentials = rules.Credentials;
        var transaction = new Transaction(request, transactionId, context.RequestAborted) { StartedAt = startedAt };
        if (context.User.Identity is { IsAuthenticated: true } identity)
        {
            // The host's signed-in user reaches policies (data.client.user) and the audit log; HttpContext does not.
            transaction.Data.Set(ClientIdentity.Key, new ClientIdentity { UserName = identity.Name, Principal = context.User });
        }

        return transaction;
    }

    /// <summary>
    /// Reads the body into a pooled buffer that grows with the bytes that arrive (a declared length over the limit is
    /// refused unread, and never decides how much memory is taken), and parses it.
    /// </summary>
    private static async ValueTask<TransactionRequest> ReadPolicedAsync(HttpContext context, string path, RequestKind kind, string? deployment, long limit)
    {
        var http = context.Request;
        var apiVersion = ReadApiVersion(http);
        using var body = await BoundedBodyReader.ReadAsync(http.Body, http.ContentLength, limit, TooLarge, EndedEarly, context.RequestAborted).ConfigureAwait(false);
        var request = TransactionRequest.Parse(kind, body.Span, CopyHeaders(http.Headers), path);
        request.ApiVersion = apiVersion;

        // Azure's deployment routes name the model in the path; a model in the body still wins, as it does for the
        // policies that read it.
        if (deployment is not null && request.Payload!["model"] is null)
        {
            request.Model = deployment;
        }

        return request;
    }

    /// <summary>
    /// The client's <c>api-version</c>, kept for an Azure backend: one plain version token, or none. Anything else is
    /// refused rather than passed into the backend's URL.
    /// </summary>
    private static string? ReadApiVersion(HttpRequest http)
    {
        if (!http.Query.TryGetValue("api-version", out var values))
        {
            return null;
        }

        return values.Count == 1 && values[0] is { } version && BackendStyles.IsApiVersion(version)
            ? version
            : throw new InvalidRequestException("'api-version' must be given once, as a plain version such as 2024-10-21.", "api-version");
    }

    /// <summary>Leaves the body to stream to the backend as it arrives, bounded by the same limit as it is read.</summary>
    private static TransactionRequest ReadPassthrough(HttpContext context, string path, long limit)
    {
        var http = context.Request;
        if (http.ContentLength > limit)
        {
            throw InvalidRequestException.TooLarge(limit);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var body = new BoundedReadStream(http.Body, limit, TooLarge);
        return TransactionRequest.ForPassthrough(http.Method, path, http.QueryString.Value, CopyHeaders(http.Headers), body);
    }

    /// <summary>The rules for the current options: built on first use and again only when the options change (reload).</summary>
    private RequestRules Rules()
    {
        var current = options.CurrentValue;
        var rules = _rules;
        if (rules is null || !ReferenceEquals(rules.Options, current))
        {
            // Two requests may race to build them; both get equal rules and either may stay cached.
            _rules = rules = new RequestRules(current);
        }

        return rules;
    }

    private static HttpHeaderDictionary CopyHeaders(IHeaderDictionary headers)
    {
        var copy = new HttpHeaderDictionary();
        foreach (var (name, values) in headers)
        {
            copy[name] = values;
        }

        return copy;
    }
}
