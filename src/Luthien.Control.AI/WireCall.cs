namespace Luthien.Control.AI;

/// <summary>A function call as the JSON states it: its id, name and arguments text.</summary>
/// <param name="Id">The call id (<c>tool_calls[].id</c>).</param>
/// <param name="Name">The function name.</param>
/// <param name="Arguments">The arguments, JSON text as the JSON holds it (possibly not valid JSON).</param>
internal readonly record struct WireCall(string Id, string Name, string Arguments);
