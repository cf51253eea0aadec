namespace Luthien.Control;

/// <summary>
/// What a policy decided in a transaction — accepted a key, refused a request, replaced a model, redacted or blocked
/// output — as the audit log's <c>outcome</c> row lists it (<c>decisions</c>). It names what happened, never the text it
/// happened to: a decision must not carry a key, a secret or anything a policy matched.
/// </summary>
/// <param name="Policy">The policy's type name as policy files know it, e.g. <c>ResponseContentPolicy</c>.</param>
/// <param name="Action">What it did, as a short word: <c>allow</c>, <c>reject</c>, <c>redact</c>, <c>block</c>, <c>replace</c>, ….</param>
/// <param name="Detail">
/// Optional, secret-free detail: a tool's name, a model mapping, a count — never matched or removed text.
/// </param>
public sealed record PolicyDecision(string Policy, string Action, string? Detail = null);
