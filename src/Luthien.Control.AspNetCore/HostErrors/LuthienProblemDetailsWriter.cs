using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Answers a problem details request on a Luthien endpoint (a status code page, the exception handler, the developer
/// exception page — whatever in the host asks <see cref="IProblemDetailsService"/>) with the OpenAI error envelope
/// instead of <c>application/problem+json</c>, which OpenAI SDKs cannot read. Registered ahead of every other writer;
/// on the host's other endpoints it writes nothing and the host's writers answer as before.
/// </summary>
/// <remarks>
/// The message is fixed per status: a problem's <c>detail</c> or exception (which the developer exception page carries)
/// never reaches an OpenAI client.
/// </remarks>
internal sealed class LuthienProblemDetailsWriter : IProblemDetailsWriter
{
    /// <inheritdoc />
    public bool CanWrite(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // The exception handler clears the endpoint before it writes, and passes the failed endpoint's metadata along.
        return LuthienEndpointMetadata.IsOn(context.HttpContext) || LuthienEndpointMetadata.IsIn(context.AdditionalMetadata);
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = context.HttpContext.Response;
        if (context.ProblemDetails.Status is { } status && !response.HasStarted)
        {
            response.StatusCode = status;
        }

        return new ValueTask(HostErrorResponse.TryWriteAsync(context.HttpContext));
    }
}
