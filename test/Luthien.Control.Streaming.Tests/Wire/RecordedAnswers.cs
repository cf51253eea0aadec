using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// Real answers recorded from OpenAI (TestData/Recorded, see its README.md), and running a policy over them as the
/// library does: a stream through the raw SSE reader, the policy and the SSE writer; a buffered answer through the policy.
/// </summary>
internal static class RecordedAnswers
{
    /// <summary>The bytes of a recorded body (a <c>.gz</c> file unpacked).</summary>
    public static byte[] Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", "Recorded", name);
        if (!name.EndsWith(".gz", StringComparison.Ordinal))
        {
            return File.ReadAllBytes(path);
        }

        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return bytes.ToArray();
    }

    /// <summary>
    /// Runs a streamed body through a policy; returns every byte the client would receive (skipped chunks the policies
    /// emptied, <c>[DONE]</c> at the end), as the hosting layer writes them.
    /// </summary>
    /// <param name="sse">The recorded SSE body.</param>
    /// <param name="policy">The policy.</param>
    /// <param name="format">The answer's adapter when not chat completions (the legacy one is not chosen by request kind yet).</param>
    public static async Task<byte[]> StreamAsync(byte[] sse, StreamingControlPolicy policy, WireFormat? format = null)
    {
        var transaction = TestTransactions.Chat("""{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        transaction.Response.SetStream(200, new RawSseStreamingIterator(new MemoryStream(sse), null, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30), 4 * 1024 * 1024, TimeProvider.System));
        if (format is not null)
        {
            transaction.Response.Format = format;
        }

        await policy.RunAsync(transaction);
        using var output = new MemoryStream();
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = new SseEventWriter(pipe);
        await foreach (var chunk in transaction.Response.Stream!)
        {
            if (!chunk.Data.IsEmpty)
            {
                writer.WriteChunk(chunk);
            }

            chunk.Release();
            await writer.FlushAsync(CancellationToken.None);
        }

        await writer.WriteDoneAsync(CancellationToken.None);
        await pipe.CompleteAsync();
        return output.ToArray();
    }

    /// <summary>Runs a buffered chat answer through a policy; returns the body the client would receive.</summary>
    public static async Task<byte[]> BufferedAsync(byte[] body, StreamingControlPolicy policy)
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, body, "application/json");
        await policy.RunAsync(transaction);
        return transaction.Response.Body.ToArray();
    }

    /// <summary>The JSON of each <c>data:</c> event of an SSE body, <c>[DONE]</c> left out.</summary>
    public static List<JsonObject> Events(byte[] sse) => Encoding.UTF8.GetString(sse)
        .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
        .Select(e => e.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..])
        .Where(d => d != "[DONE]")
        .Select(d => (JsonObject)JsonNode.Parse(d)!)
        .ToList();

    /// <summary>Every choice entry of the answer (all chunks of a stream, or the one buffered answer).</summary>
    public static IEnumerable<JsonObject> Choices(IEnumerable<JsonObject> answer) =>
        answer.SelectMany(e => e["choices"] as JsonArray ?? []).OfType<JsonObject>();

    /// <summary>The text a choice entry carries: chat <c>delta</c>/<c>message</c> content, or a completion's <c>text</c>.</summary>
    public static string TextOf(JsonObject choice) =>
        (choice["delta"] ?? choice["message"])?["content"] is JsonValue content ? content.GetValue<string>()
        : choice["text"] is JsonValue text ? text.GetValue<string>()
        : string.Empty;

    /// <summary>The tokens a choice entry's logprobs list for its text (chat <c>logprobs.content</c>, legacy <c>logprobs.tokens</c>), or null.</summary>
    public static string? TokensOf(JsonObject choice) => choice["logprobs"] switch
    {
        JsonObject { } lp when lp["content"] is JsonArray content => string.Concat(content.Select(t => t!["token"]!.GetValue<string>())),
        JsonObject { } lp when lp["tokens"] is JsonArray tokens => string.Concat(tokens.Select(t => t!.GetValue<string>())),
        _ => null,
    };
}
