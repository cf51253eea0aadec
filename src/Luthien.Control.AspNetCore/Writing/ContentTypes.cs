namespace Luthien.Control.AspNetCore;

/// <summary>
/// The one spelling of each content type the library writes, as the contract words them. Neither carries a
/// <c>charset</c>: JSON and server-sent events are UTF-8 by definition (RFC 8259, the HTML event-stream format), so
/// it would add nothing but a second spelling for clients that compare the header whole.
/// </summary>
internal static class ContentTypes
{
    /// <summary>Buffered answers and every error body.</summary>
    public const string Json = "application/json";

    /// <summary>Streamed answers.</summary>
    public const string EventStream = "text/event-stream";
}
