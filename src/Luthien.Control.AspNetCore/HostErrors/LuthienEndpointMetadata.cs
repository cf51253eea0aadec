using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// Marks the endpoints <c>MapLuthienControl</c> maps, so that what the host's own middleware answers on them (a 401
/// from authorization, a 429 from rate limiting, a problem details body) is written as an OpenAI error — and nothing
/// changes on the host's other endpoints.
/// </summary>
internal sealed class LuthienEndpointMetadata
{
    public static readonly LuthienEndpointMetadata Instance = new();

    private LuthienEndpointMetadata()
    {
    }

    /// <summary>Whether the request's endpoint is one of the Luthien endpoints.</summary>
    /// <param name="context">The exchange.</param>
    public static bool IsOn(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<LuthienEndpointMetadata>() is not null;

    /// <summary>Whether endpoint metadata belongs to a Luthien endpoint.</summary>
    /// <param name="metadata">The metadata, or <see langword="null"/>.</param>
    public static bool IsIn(EndpointMetadataCollection? metadata) => metadata?.GetMetadata<LuthienEndpointMetadata>() is not null;
}
