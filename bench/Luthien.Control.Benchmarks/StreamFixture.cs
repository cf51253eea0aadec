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

    /// <summary>
    /// The same answer as <see cref="TextStream"/> through the Responses API, as OpenAI streams it: created, in progress,
    /// the item and its part added, <paramref name="deltas"/> text deltas, the part's text done, the part and item done, and
    /// completed (each repeat carrying the whole text).
    /// </summary>
    public static byte[] ResponsesStream(int deltas)
    {
        const string item = "msg_68c9ef5f4f3c819494718ea40dba591c0b70e4946283a4df";
        var response = "\"id\":\"resp_0b70e4946283a4df0068c9ef5ef4d88194adeeb6e2283d609a\",\"object\":\"response\",\"created_at\":1700000000,\"model\":\"gpt-4o-2024-08-06\"";
        var text = string.Concat(Enumerable.Range(0, deltas).Select(i => Words[i % Words.Length]));
        var sb = new StringBuilder();
        var sequence = 0;
        void Event(string type, string fields) =>
            sb.Append("event: ").Append(type).Append("\ndata: {\"type\":\"").Append(type).Append("\",\"sequence_number\":").Append(sequence++).Append(',').Append(fields).Append("}\n\n");
        string Part(string t) => $"{{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"{t}\"}}";
        string Message(string status, string parts) => $"{{\"id\":\"{item}\",\"type\":\"message\",\"status\":\"{status}\",\"content\":[{parts}],\"role\":\"assistant\"}}";
        Event("response.created", $"\"response\":{{{response},\"status\":\"in_progress\",\"output\":[],\"usage\":null}}");
        Event("response.in_progress", $"\"response\":{{{response},\"status\":\"in_progress\",\"output\":[],\"usage\":null}}");
        Event("response.output_item.added", $"\"output_index\":0,\"item\":{Message("in_progress", string.Empty)}");
        Event("response.content_part.added", $"\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"part\":{Part(string.Empty)}");
        for (var i = 0; i < deltas; i++)
        {
            Event("response.output_text.delta", $"\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"delta\":\"{Words[i % Words.Length]}\",\"logprobs\":[],\"obfuscation\":\"Xy3kQ9\"");
        }

        Event("response.output_text.done", $"\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"text\":\"{text}\",\"logprobs\":[]");
        Event("response.content_part.done", $"\"item_id\":\"{item}\",\"output_index\":0,\"content_index\":0,\"part\":{Part(text)}");
        Event("response.output_item.done", $"\"output_index\":0,\"item\":{Message("completed", Part(text))}");
        Event("response.completed", $"\"response\":{{{response},\"status\":\"completed\",\"output\":[{Message("completed", Part(text))}],\"usage\":{{\"input_tokens\":10,\"output_tokens\":{deltas},\"total_tokens\":{deltas + 10}}}}}");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static Transaction ResponsesTransaction() => new(TransactionRequest.Parse(RequestKind.Responses, """{"model":"gpt-4o","stream":true,"input":"hi"}"""u8));

    public static Transaction StreamingTransaction() => new(TransactionRequest.Parse(RequestKind.ChatCompletion, """{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"""u8));

    /// <summary>
    /// Reads the body, applies the policies in order, writes canonical SSE to a sink (flushing every event, and releasing
    /// each chunk once written, as the response writer does); returns events written.
    /// </summary>
    public static Task<int> RunAsync(byte[] body, params StreamingControlPolicy[] policies) => RunAsync(StreamingTransaction(), body, policies);

    /// <summary>As <see cref="RunAsync(byte[], StreamingControlPolicy[])"/> for a Responses stream: event lines, no [DONE].</summary>
    public static Task<int> RunResponsesAsync(byte[] body, params StreamingControlPolicy[] policies) => RunAsync(ResponsesTransaction(), body, policies);

    private static async Task<int> RunAsync(Transaction transaction, byte[] body, StreamingControlPolicy[] policies)
    {
        var responses = transaction.Request.Kind == RequestKind.Responses;
        transaction.Response.SetStream(200, new RawSseStreamingIterator(new MemoryStream(body, writable: false), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1), 1 << 20, TimeProvider.System) { EndsAtLastEvent = responses });
        foreach (var policy in policies)
        {
            await policy.RunAsync(transaction);
        }

        var pipe = PipeWriter.Create(Stream.Null, new StreamPipeWriterOptions(leaveOpen: true));
        var writer = new SseEventWriter(pipe) { WriteEventTypes = responses };
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

        if (!responses)
        {
            await writer.WriteDoneAsync(default);
            events++;
        }

        await pipe.CompleteAsync();
        return events;
    }
}
