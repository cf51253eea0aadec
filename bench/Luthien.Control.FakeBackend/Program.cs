// A fast, canned OpenAI-compatible backend for the end-to-end comparison. Loopback only.
//   --urls http://127.0.0.1:6590  --chunks 50  --delay-ms 0
using System.Text;

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
    if (!stream)
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = completion.Length;
        await context.Response.Body.WriteAsync(completion);
        return;
    }

    context.Response.ContentType = "text/event-stream";
    context.Response.Headers.CacheControl = "no-cache";
    foreach (var e in events)
    {
        if (delayMs > 0)
        {
            await Task.Delay(delayMs, context.RequestAborted);
        }

        await context.Response.Body.WriteAsync(e, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
});

app.Run();
