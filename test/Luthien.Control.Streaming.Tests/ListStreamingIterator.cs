using System.Runtime.CompilerServices;
using System.Text;

namespace Luthien.Control.Streaming.Tests;

/// <summary>Chunks from a list, as if from a backend; records how far it was read and whether it was disposed.</summary>
internal sealed class ListStreamingIterator(params string[] chunks) : StreamingResponseIterator
{
    public int Read { get; private set; }

    public bool Disposed { get; private set; }

    public static async Task<List<StreamChunk>> CollectAsync(StreamingResponseIterator iterator)
    {
        var result = new List<StreamChunk>();
        await foreach (var chunk in iterator)
        {
            result.Add(chunk);
        }

        await iterator.DisposeAsync();
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
        foreach (var chunk in chunks)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            Read++;
            yield return StreamChunk.CopyToPooled(Encoding.UTF8.GetBytes(chunk));
        }
    }
}

/// <summary>Builds chat.completion.chunk JSON for tests.</summary>
internal static class Chunks
{
    public static string Content(string text, int index = 0) =>
        $$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{index}},"delta":{"content":{{System.Text.Json.JsonSerializer.Serialize(text)}}},"finish_reason":null}]}""";

    public static string Role(int index = 0) =>
        $$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{index}},"delta":{"role":"assistant","content":""},"finish_reason":null}]}""";

    public static string Finish(string reason = "stop", int index = 0) =>
        $$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{index}},"delta":{},"finish_reason":"{{reason}}"}]}""";

    public static string ToolStart(int call, string id, string name, int index = 0) =>
        $$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{{index}}},"delta":{"tool_calls":[{"index":{{{call}}},"id":"{{{id}}}","type":"function","function":{"name":"{{{name}}}","arguments":""}}]},"finish_reason":null}]}""";

    public static string ToolArgs(int call, string args, int index = 0) =>
        $$$"""{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":{{{index}}},"delta":{"tool_calls":[{"index":{{{call}}},"function":{"arguments":{{{System.Text.Json.JsonSerializer.Serialize(args)}}}}}]},"finish_reason":null}]}""";

    public static string Usage() =>
        """{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}""";

    /// <summary>The assistant text of every chunk, per choice 0.</summary>
    public static string Text(IEnumerable<StreamChunk> chunks, int index = 0) => string.Concat(chunks.Select(c =>
        c.Json?["choices"]?.AsArray().Where(x => ChatChunks.IndexOf(x) == index).Select(x => x?["delta"]?["content"]?.GetValue<string>()).FirstOrDefault()));

    public static List<string> FinishReasons(IEnumerable<StreamChunk> chunks) => chunks
        .SelectMany(c => c.Json?["choices"]?.AsArray() ?? [])
        .Select(x => x?["finish_reason"]?.GetValue<string>())
        .OfType<string>()
        .ToList();
}
