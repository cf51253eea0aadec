using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;

namespace Luthien.Control.AI.Tests.Infrastructure;

/// <summary>
/// An OpenAI chat-completions backend in the process: the official OpenAI client, through Microsoft.Extensions.AI's
/// <see cref="IChatClient"/> over it, sends real HTTP requests to it, and it answers with real JSON or server-sent-event
/// bytes scripted per test, recording every request body.
/// </summary>
internal sealed class ScriptedOpenAi : HttpMessageHandler
{
    private readonly ConcurrentQueue<Func<JsonObject, HttpResponseMessage>> _answers = new();

    /// <summary>The bodies of the requests received, in order.</summary>
    public ConcurrentQueue<JsonObject> Requests { get; } = new();

    /// <summary>The OpenAI SDK's chat client for model <c>gpt-4o-mini</c>, as an <see cref="IChatClient"/> pointed here.</summary>
    public IChatClient CreateClient()
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri("http://backend.test/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(this, disposeHandler: false)),
            RetryPolicy = new ClientRetryPolicy(0),
        };
        return new ChatClient("gpt-4o-mini", new ApiKeyCredential("backend-key"), options).AsIChatClient();
    }

    /// <summary>Answers the next request with these chunks as a stream (each a <c>chat.completion.chunk</c>), then <c>[DONE]</c>.</summary>
    public void Streams(params string[] chunks) => _answers.Enqueue(_ =>
    {
        var sse = new StringBuilder();
        foreach (var chunk in chunks)
        {
            sse.Append("data: ").Append(chunk).Append("\n\n");
        }

        sse.Append("data: [DONE]\n\n");
        return Respond("text/event-stream", sse.ToString());
    });

    /// <summary>Answers the next request with these chunks as a stream whose connection then breaks (no <c>[DONE]</c>).</summary>
    public void StreamsThenBreaks(params string[] chunks) => _answers.Enqueue(_ =>
    {
        var sse = string.Concat(chunks.Select(c => "data: " + c + "\n\n"));
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new BreakingStream(Encoding.UTF8.GetBytes(sse))) { Headers = { { "Content-Type", "text/event-stream" } } } };
    });

    /// <summary>Answers the next request with this JSON body.</summary>
    public void Answers(string json) => _answers.Enqueue(_ => Respond("application/json", json));

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "{}" : await request.Content.ReadAsStringAsync(cancellationToken);
        var json = JsonNode.Parse(body)!.AsObject();
        Requests.Enqueue(json);
        return _answers.TryDequeue(out var answer)
            ? answer(json)
            : Respond("application/json", """{"error":{"message":"no answer scripted","type":"server_error","code":null}}""", HttpStatusCode.InternalServerError);
    }

    private static HttpResponseMessage Respond(string contentType, string body, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, contentType) };
}

/// <summary>Chat-completions wire data as OpenAI sends it.</summary>
internal static class Wire
{
    private const string Head = "\"id\":\"chatcmpl-test\",\"object\":\"chat.completion.chunk\",\"created\":1735689600,\"model\":\"gpt-4o-mini\"";

    /// <summary>The chunks of a text answer: the role, one chunk per piece, then <c>finish_reason</c> <c>stop</c>.</summary>
    public static string[] Text(params string[] pieces) =>
    [
        Chunk("""{"role":"assistant","content":""}""", null),
        .. pieces.Select(p => Chunk(new JsonObject { ["content"] = p }.ToJsonString(), null)),
        Chunk("{}", "stop"),
    ];

    /// <summary>The chunks of one function call, its arguments split into <paramref name="argumentPieces"/>, then <c>tool_calls</c>.</summary>
    public static string[] Call(string name, params string[] argumentPieces) =>
    [
        Chunk(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = string.Empty },
            }),
        }.ToJsonString(), null),
        .. argumentPieces.Select(p => Chunk(new JsonObject
        {
            ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = p } }),
        }.ToJsonString(), null)),
        Chunk("{}", "tool_calls"),
    ];

    /// <summary>A buffered text answer.</summary>
    public static string Completion(string text) => CompletionWith(new JsonObject { ["role"] = "assistant", ["content"] = text }, "stop");

    /// <summary>A buffered answer calling one function.</summary>
    public static string CallCompletion(string name, string arguments) => CompletionWith(new JsonObject
    {
        ["role"] = "assistant",
        ["content"] = null,
        ["tool_calls"] = new JsonArray(new JsonObject
        {
            ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
        }),
    }, "tool_calls");

    private static string CompletionWith(JsonObject message, string finishReason) => new JsonObject
    {
        ["id"] = "chatcmpl-test",
        ["object"] = "chat.completion",
        ["created"] = 1735689600,
        ["model"] = "gpt-4o-mini",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finishReason }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 5, ["completion_tokens"] = 7, ["total_tokens"] = 12 },
    }.ToJsonString();

    private static string Chunk(string delta, string? finishReason) =>
        "{" + Head + ",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" +
        (finishReason is null ? "null" : "\"" + finishReason + "\"") + "}]}";
}

/// <summary>A body that gives its bytes, then fails as a connection reset would.</summary>
internal sealed class BreakingStream(byte[] bytes) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position >= bytes.Length)
        {
            throw new IOException("The connection was reset.");
        }

        var n = Math.Min(count, bytes.Length - _position);
        Array.Copy(bytes, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
