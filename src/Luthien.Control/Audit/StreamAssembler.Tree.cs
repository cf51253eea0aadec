using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>
    /// How the answer is read back: a name repeated in it is refused (a tree would throw on it later), and a kept error
    /// event sits a level below where it was read.
    /// </summary>
    private static readonly JsonDocumentOptions TreeOptions = new() { MaxDepth = JsonHygiene.MaxDepth + 2, AllowDuplicateProperties = false };

    /// <summary>
    /// The answer the events make, unmasked, as a tree. Only for <see cref="AuditRows"/> until it writes its rows with
    /// <see cref="Write"/> (then this file goes): the answer is written as <see cref="Write"/> writes it and read back.
    /// </summary>
    /// <param name="api">The API (<c>chat.completions</c>, <c>completions</c>, <c>responses</c>).</param>
    /// <param name="events">Each event's data.</param>
    public static JsonObject Assemble(string? api, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        try
        {
            return Tree(api, events);
        }
        catch (JsonException)
        {
            // A value kept as it came repeats a name: the events that break the library's rules are left out, as they
            // were before the assembler read events itself.
            return Tree(api, events.Where(e => JsonHygiene.ValidateObject(e) is null));
        }
    }

    private static JsonObject Tree(string? api, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteAnswer(writer, api, events, mask: null);
        }

        return JsonNode.Parse(buffer.WrittenSpan, documentOptions: TreeOptions)!.AsObject();
    }
}
