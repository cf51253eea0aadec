using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Luthien.Control;
using Luthien.Control.AspNetCore;

namespace Luthien.Control.Sample;

/// <summary>
/// An OpenAI-compatible backend inside the process: it answers a chat completion with the text of the last user
/// message, a Responses API request with the text of its last user input, and a legacy completion with its prompt,
/// buffered or streamed (one event per word) as OpenAI shapes them. It sits under the library's real HTTP backend client as its message handler, so requests and streams take
/// the same path as with a remote backend.
/// </summary>
public sealed partial class EchoBackend : HttpMessageHandler
{
    /// <summary>The base URL requests to the echo backend carry; it never leaves the process.</summary>
    public static readonly Uri BaseUrl = new("http://echo.luthien.invalid/v1");

    /// <summary>Routes the library's backend client to the echo backend.</summary>
    /// <param name="builder">The Luthien.Control builder.</param>
    public static void Use(LuthienControlBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.PostConfigure<LuthienOptions>(o => o.Backend.BaseUrl ??= BaseUrl);
        builder.UseBackendHandler(_ => new EchoBackend());
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (request.Method == HttpMethod.Get && path.EndsWith("/v1/models", StringComparison.Ordinal))
        {
            return Json(HttpStatusCode.OK, """{"object":"list","data":[{"id":"echo","object":"model","created":1700000000,"owned_by":"luthien"}]}""");
        }

        var api = request.Method != HttpMethod.Post ? null
            : path.EndsWith("/v1/chat/completions", StringComparison.Ordinal) ? "chat"
            : path.EndsWith("/v1/responses", StringComparison.Ordinal) ? "responses"
            : path.EndsWith("/v1/completions", StringComparison.Ordinal) ? "completions"
            : null;
        if (api is null)
        {
            var error = new JsonObject
            {
                ["error"] = new JsonObject
                {
                    ["message"] = $"The echo backend has no route {request.Method} {path}.",
                    ["type"] = "invalid_request_error",
                    ["param"] = null,
                    ["code"] = "not_found",
                },
            };
            return Json(HttpStatusCode.NotFound, error.ToJsonString());
        }

        var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))!.AsObject();
        if (api == "responses")
        {
            return EchoResponses.Answer(body);
        }

        if (api == "completions")
        {
            return EchoResponses.Completion(body);
        }

        var model = body["model"]?.GetValue<string>() ?? "echo";
        var text = LastUserText(body["messages"] as JsonArray);
        var id = "chatcmpl-echo" + Guid.NewGuid().ToString("N")[..20];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var promptTokens = CountTokens(body["messages"]?.ToJsonString() ?? string.Empty);
        var completionTokens = CountTokens(text);
        var usage = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens };

        if (body["stream"] is JsonValue s && s.GetValue<bool>())
        {
            var includeUsage = body["stream_options"] is JsonObject so && so["include_usage"] is JsonValue iu && iu.GetValue<bool>();
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Sse(id, created, model, text, includeUsage ? usage : null)) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
            return response;
        }

        var completion = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text, ["refusal"] = null },
                ["logprobs"] = null,
                ["finish_reason"] = "stop",
            }),
            ["usage"] = usage,
        };
        return Json(HttpStatusCode.OK, completion.ToJsonString());
    }

    /// <summary>One chunk per word, each word with the spaces after it, so the chunks add up to the text exactly.</summary>
    private static string Sse(string id, long created, string model, string text, JsonObject? usage)
    {
        var sb = new StringBuilder();
        void Event(JsonArray choices, JsonNode? usageNode)
        {
            var chunk = new JsonObject { ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = model, ["choices"] = choices };
            if (usage is not null)
            {
                chunk["usage"] = usageNode;
            }

            sb.Append("data: ").Append(chunk.ToJsonString()).Append("\n\n");
        }

        JsonArray Choice(JsonObject delta, string? finish) =>
            new(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish });

        Event(Choice(new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null), null);
        foreach (Match word in ChunkPattern().Matches(text))
        {
            Event(Choice(new JsonObject { ["content"] = word.Value }, null), null);
        }

        Event(Choice(new JsonObject(), "stop"), null);
        if (usage is not null)
        {
            Event([], usage.DeepClone());
        }

        sb.Append("data: [DONE]\n\n");
        return sb.ToString();
    }

    private static string LastUserText(JsonArray? messages)
    {
        for (var i = (messages?.Count ?? 0) - 1; i >= 0; i--)
        {
            if (messages![i] is JsonObject m && m["role"]?.GetValue<string>() == "user")
            {
                return m["content"] switch
                {
                    JsonValue v when v.TryGetValue(out string? t) => t,
                    JsonArray parts => string.Concat(parts.OfType<JsonObject>().Select(p => p["text"]?.GetValue<string>())),
                    _ => string.Empty,
                };
            }
        }

        return string.Empty;
    }

    internal static int CountTokens(string text) => WordPattern().Count(text);

    internal static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    [GeneratedRegex(@"\S+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"\S+\s*|\s+")]
    internal static partial Regex ChunkPattern();
}
