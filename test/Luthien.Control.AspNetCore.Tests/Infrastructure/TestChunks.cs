using System.Runtime.CompilerServices;
using System.Text;
using Luthien.Control.Streaming;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>
/// Chunks from a list, as a backend's stream would give them; optionally each one only after a yield (so the next one
/// is not at hand yet), and optionally a failure after the last one.
/// </summary>
internal sealed class TestChunks(params string[] chunks) : StreamingResponseIterator
{
    public const string Head = "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\"";

    /// <summary>Whether each chunk arrives after a yield, i.e. is not at hand when the previous one is written.</summary>
    public bool Slow { get; init; }

    /// <summary>Thrown after the last chunk instead of ending well.</summary>
    public Exception? FailWith { get; init; }

    /// <summary>Chunks handed out so far.</summary>
    public List<StreamChunk> Given { get; } = [];

    public bool Disposed { get; private set; }

    public static string Content(string text, string extra = "") =>
        $$"""{{{Head}},"choices":[{"index":0,"delta":{"content":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"finish_reason":null}]{{extra}}}""";

    public static string Usage(int prompt = 3, int completion = 2) =>
        "{" + Head + ",\"choices\":[],\"usage\":{\"prompt_tokens\":" + prompt + ",\"completion_tokens\":" + completion + ",\"total_tokens\":" + (prompt + completion) + "}}";

    public static async Task<List<string>> ReadAllAsync(StreamingResponseIterator stream)
    {
        var result = new List<string>();
        await foreach (var chunk in stream)
        {
            result.Add(Encoding.UTF8.GetString(chunk.Data.Span));
        }

        await stream.DisposeAsync();
        return result;
    }

    public override IAsyncEnumerator<StreamChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    protected override ValueTask DisposeAsyncCore()
    {
        Disposed = true;
        return base.DisposeAsyncCore();
    }

    private async IAsyncEnumerable<StreamChunk> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var text in chunks)
        {
            if (Slow)
            {
                await Task.Yield();
            }

            cancellationToken.ThrowIfCancellationRequested();
            var chunk = StreamChunk.CopyToPooled(Encoding.UTF8.GetBytes(text));
            Given.Add(chunk);
            yield return chunk;
        }

        if (FailWith is not null)
        {
            await Task.Yield();
            throw FailWith;
        }
    }
}
