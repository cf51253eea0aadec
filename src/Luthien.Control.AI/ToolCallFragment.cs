namespace Luthien.Control.AI;

/// <summary>One <c>delta.tool_calls</c> entry of a chunk: a call's start, or more of its arguments.</summary>
/// <param name="Index">The call's <c>index</c>, which joins its fragments.</param>
/// <param name="Id">The call id, on a call's first fragment.</param>
/// <param name="Name">The function name (or a piece of it), normally on the first fragment.</param>
/// <param name="Arguments">A piece of the arguments' JSON text.</param>
internal readonly record struct ToolCallFragment(int Index, string? Id, string? Name, string? Arguments);
