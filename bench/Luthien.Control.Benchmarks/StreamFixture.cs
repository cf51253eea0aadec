using System.IO.Pipelines;
using System.Text;
using Luthien.Control.Streaming;

namespace Luthien.Control.Benchmarks;

/// <summary>Builds realistic SSE bodies and runs them through the library's reader, policies and writer.</summary>
internal static class StreamFixture
{
    public const string Head = "\"id\":\"chatcmpl-AbCdEfGhIjKlMnOpQrStUvWxYz01\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_abc123\"";

    private static readonly string[] Words = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog, ", "and ", "then ", "rests. "];

    /// <summary>A text stream: a role chunk, <paramref name="contentChunks"/> word chunks, a finish chunk, [DONE].</summary>
    public static byte[] TextStream(int contentChunks)
    {
        var sb = new StringBuilder();
        sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        for (var i = 0; i < contentChunks; i++)
        {
            sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"").Append(Words[i % Words.Length])
              .Append("\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        }

        sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n");
        sb.Append("data: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>A tool-call stream: one call, its arguments in <paramref name="fragments"/> pieces.</summary>
    public static byte[] ToolStream(int fragments)
    {
        var sb = new StringBuilder();
        sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        for (var i = 0; i < fragments; i++)
        {
            sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"k\\\":").Append(i).Append('}')
              .Append("\"}}]},\"logprobs\":null,\"finish_reason\":null}]}\n\n");
        }

        sb.Append("data: {").Append(Head).Append(",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n");
        sb.Append("data: [DONE]\n\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static Transaction StreamingTransaction() => new(TransactionRequest.Parse(RequestKind.ChatCompletion, """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"""u8));

    /// <summary>
    /// Reads the body, applies the policies in order, writes canonical SSE to a sink (flushing every event, and releasing
    /// each chunk once written, as the response writer does); returns events written.
    /// </summary>
    public static async Task<int> RunAsync(byte[] body, params StreamingControlPolicy[] policies)
    {
        var transaction = StreamingTransaction();
        transaction.Response.SetStream(200, new RawSseStreamingIterator(new MemoryStream(body, writable: false), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 1 << 20, TimeProvider.System));
        foreach (var policy in policies)
        {
            await policy.RunAsync(transaction);
        }

        var pipe = PipeWriter.Create(Stream.Null, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = new SseEventWriter(pipe);
        var events = 0;
        await using (var stream = transaction.Response.Stream!)
        {
            await foreach (var chunk in stream)
            {
                // As the host's writer does when the next chunk is not at hand yet: write, then flush.
                if (!chunk.Data.IsEmpty)
                {
                    writer.WriteChunk(chunk);
                    events++;
                }

                await writer.FlushAsync(default);
                chunk.Release();
            }
        }

        await writer.WriteDoneAsync(default);
        await pipe.CompleteAsync();
        return events + 1;
    }
}
