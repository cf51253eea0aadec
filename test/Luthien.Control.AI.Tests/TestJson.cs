using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.AI.Tests;

/// <summary>JSON text for assertions: compact and relaxed-escaped, as the library writes it on the wire.</summary>
internal static class TestJson
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Text(this JsonNode node) => node.ToJsonString(Options);
}
