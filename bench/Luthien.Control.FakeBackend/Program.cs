// A fast, canned OpenAI-compatible backend for the end-to-end comparison. Loopback only.
//   --urls http://127.0.0.1:6590  --chunks 50  --delay-ms 0
// For the memory benchmark (bench/memory.sh) a streamed request's model selects a large answer instead of the canned one:
//   "model": "bench-big-stream:<bytes>"   valid content chunks, as fast as the reader takes them, until <bytes> were
//                                         sent, then a finish chunk and [DONE]
//   "model": "bench-no-newline:<bytes>"   "data: " and then <bytes> bytes without a newline, and the end of the answer
// GET /bench/active answers how many of those large answers are still being sent (whether a proxy let go of them).
using System.Buffers;
using System.Text;
using System.Text.Json;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
var chunks = int.Parse(app.Configuration["chunks"] ?? "50");
var delayMs = int.Parse(app.Configuration["delay-ms"] ?? "0");

const string Head = "\"id\":\"chatcmpl-bench0000000000000000000001\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_bench\"";
string[] words = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. "];
var events = new List<byte[]>
{
    Encoding.UTF8.GetBytes($"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"),
};
for (var i = 0; i < chunks; i++)
{
    events.Add(Encoding.UTF8.GetBytes($"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{words[i % words.Length]}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"));
}

events.Add(Encoding.UTF8.GetBytes($"data: {{{Head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\n"));
events.Add("data: [DONE]\n\n"u8.ToArray());

var text = string.Concat(Enumerable.Range(0, chunks).Select(i => words[i % words.Length]));
var completion = Encoding.UTF8.GetBytes(
    $"{{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"message\":{{\"role\":\"assistant\",\"content\":\"{text}\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{chunks},\"total_tokens\":{chunks + 10}}}}}");

app.MapPost("/v1/chat/completions", async context =>
{
    using var reader = new StreamReader(context.Request.Body);
    var body = await reader.ReadToEndAsync();
    var stream = body.Contains("\"stream\":true") || body.Contains("\"stream\": true");
    if (stream && body.Contains("\"bench-", StringComparison.Ordinal) && LargeAnswer.Parse(body) is { } large)
    {
        await LargeAnswer.WriteAsync(context, large.Kind, large.Bytes, Head, words);
        return;
    }

    await AnswerAsync(context, stream, completion, events);
});

// The same answer through the Responses API: OpenAI's event sequence, a delta per word, the repeats, usage at the end.
var responses = ResponsesAnswer.Events(chunks, words);
var responseBody = ResponsesAnswer.Buffered(text, chunks);
app.MapPost("/v1/responses", async context =>
{
    using var reader = new StreamReader(context.Request.Body);
    var body = await reader.ReadToEndAsync();
    await AnswerAsync(context, body.Contains("\"stream\":true") || body.Contains("\"stream\": true"), responseBody, responses);
});

// The canned answer: the JSON body, or the events one by one, each flushed (after the delay, if any).
async Task AnswerAsync(HttpContext context, bool stream, byte[] buffered, List<byte[]> streamed)
{
    if (!stream)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffered.Length;
        await context.Response.Body.WriteAsync(buffered);
        return;
    }

    context.Response.ContentType = "text/event-stream";
    context.Response.Headers.CacheControl = "no-cache";
    foreach (var e in streamed)
    {
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, context.RequestAborted);
        }

        await context.Response.Body.WriteAsync(e, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}

app.MapGet("/bench/active", () => LargeAnswer.Active.ToString(System.Globalization.CultureInfo.InvariantCulture));

app.Run();

internal static class LargeAnswer
{
    private static int _active;

    public static int Active => Volatile.Read(ref _active);

    public static (string Kind, long Bytes)? Parse(string body)
    {
        using var json = JsonDocument.Parse(body);
        if (!json.RootElement.TryGetProperty("model", out var model) || model.GetString() is not { } name)
        {
            return null;
        }

        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && long.TryParse(name.AsSpan(colon + 1), out var bytes) && bytes >= 0 ? (name[..colon], bytes) : null;
    }

    // One block of whole events (about 64 KB) is built once and written again and again, so the backend costs little more
    // than the copy into the socket; every block ends on an event boundary, so the stream stays valid wherever it stops.
    public static async Task WriteAsync(HttpContext context, string kind, long bytes, string head, string[] words)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var writer = context.Response.BodyWriter;
        var aborted = context.RequestAborted;
        Interlocked.Increment(ref _active);
        try
        {
            if (kind == "bench-no-newline")
            {
                await writer.WriteAsync("data: "u8.ToArray(), aborted);
                var filler = new byte[64 * 1024];
                Array.Fill(filler, (byte)'a');
                for (long sent = 0; sent < bytes;)
                {
                    var n = (int)Math.Min(filler.Length, bytes - sent);
                    if (Stopped(await writer.WriteAsync(filler.AsMemory(0, n), aborted)))
                    {
                        return;
                    }

                    sent += n;
                }

                return;
            }

            if (kind != "bench-big-stream")
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            var block = new ArrayBufferWriter<byte>(80 * 1024);
            for (var i = 0; block.WrittenCount < 64 * 1024; i++)
            {
                block.Write(Encoding.UTF8.GetBytes(
                    $"data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{words[i % words.Length]}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"));
            }

            var blockBytes = block.WrittenMemory;
            await writer.WriteAsync(Encoding.UTF8.GetBytes(
                $"data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"), aborted);
            for (long sent = 0; sent < bytes; sent += blockBytes.Length)
            {
                if (Stopped(await writer.WriteAsync(blockBytes, aborted)))
                {
                    return;
                }
            }

            await writer.WriteAsync(Encoding.UTF8.GetBytes(
                $"data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"), aborted);
        }
        catch (OperationCanceledException)
        {
            // The reader went away: nothing more to send.
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    // Kestrel reports a reader that went away in the flush result rather than by throwing.
    private static bool Stopped(System.IO.Pipelines.FlushResult result) => result.IsCompleted || result.IsCanceled;
}

internal static class ResponsesAnswer
{
    private const string Id = "resp_bench000000000000000000000000000000000000001";
    private const string Item = "msg_bench000000000000000000000000000000000000001";

    private static string Response(string status, string output, string usage) =>
        $"{{\"id\":\"{Id}\",\"object\":\"response\",\"created_at\":1700000000,\"status\":\"{status}\",\"error\":null,\"incomplete_details\":null,\"model\":\"gpt-4o-mini\",\"output\":[{output}],\"parallel_tool_calls\":true,\"store\":false,\"temperature\":1.0,\"tool_choice\":\"auto\",\"tools\":[],\"top_p\":1.0,\"usage\":{usage}}}";

    private static string Message(string status, string text) =>
        $"{{\"id\":\"{Item}\",\"type\":\"message\",\"status\":\"{status}\",\"content\":[{(text.Length == 0 && status == "in_progress" ? string.Empty : Part(text))}],\"role\":\"assistant\"}}";

    private static string Part(string text) => $"{{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":\"{text}\"}}";

    public static List<byte[]> Events(int chunks, string[] words)
    {
        var text = string.Concat(Enumerable.Range(0, chunks).Select(i => words[i % words.Length]));
        var usage = $"{{\"input_tokens\":10,\"output_tokens\":{chunks},\"total_tokens\":{chunks + 10}}}";
        var list = new List<string>
        {
            $"{{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{Response("in_progress", string.Empty, "null")}}}",
            $"{{\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{Response("in_progress", string.Empty, "null")}}}",
            $"{{\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":0,\"item\":{Message("in_progress", string.Empty)}}}",
            $"{{\"type\":\"response.content_part.added\",\"sequence_number\":3,\"item_id\":\"{Item}\",\"output_index\":0,\"content_index\":0,\"part\":{Part(string.Empty)}}}",
        };
        for (var i = 0; i < chunks; i++)
        {
            list.Add($"{{\"type\":\"response.output_text.delta\",\"sequence_number\":{list.Count},\"item_id\":\"{Item}\",\"output_index\":0,\"content_index\":0,\"delta\":\"{words[i % words.Length]}\",\"logprobs\":[],\"obfuscation\":\"aBcDeFgHiJ\"}}");
        }

        list.Add($"{{\"type\":\"response.output_text.done\",\"sequence_number\":{list.Count},\"item_id\":\"{Item}\",\"output_index\":0,\"content_index\":0,\"text\":\"{text}\",\"logprobs\":[]}}");
        list.Add($"{{\"type\":\"response.content_part.done\",\"sequence_number\":{list.Count},\"item_id\":\"{Item}\",\"output_index\":0,\"content_index\":0,\"part\":{Part(text)}}}");
        list.Add($"{{\"type\":\"response.output_item.done\",\"sequence_number\":{list.Count},\"output_index\":0,\"item\":{Message("completed", text)}}}");
        list.Add($"{{\"type\":\"response.completed\",\"sequence_number\":{list.Count},\"response\":{Response("completed", Message("completed", text), usage)}}}");
        return [.. list.Select(json => Encoding.UTF8.GetBytes($"event: {System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("type").GetString()}\ndata: {json}\n\n"))];
    }

    public static byte[] Buffered(string text, int chunks) =>
        Encoding.UTF8.GetBytes(Response("completed", Message("completed", text), $"{{\"input_tokens\":10,\"output_tokens\":{chunks},\"total_tokens\":{chunks + 10}}}"));
}
