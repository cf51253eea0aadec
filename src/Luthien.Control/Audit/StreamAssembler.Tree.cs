using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>
    /// The answer the events make, unmasked, as a tree. Only for <see cref="AuditRows"/> until it writes its rows with
    /// <see cref="Write"/> (then this file goes): the answer is written as <see cref="Write"/> writes it and read back.
    /// </summary>
    /// <param name="api">The API (<c>chat.completions</c>, <c>completions</c>, <c>responses</c>).</param>
    /// <param name="events">Each event's data.</param>
    public static JsonObject Assemble(string? api, IEnumerable<ReadOnlyMemory<byte>> events)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteAnswer(writer, api, events, mask: null);
        }

        return JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
    }
}
