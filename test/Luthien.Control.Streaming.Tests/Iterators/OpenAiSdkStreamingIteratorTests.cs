using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace Luthien.Control.Streaming.Tests.Iterators;

public class OpenAiSdkStreamingIteratorTests
{
    private static ChatClient ClientServing(string sse)
    {
        var handler = new SseHandler(sse);
        var options = new OpenAIClientOptions { Endpoint = new Uri("http://backend.test/v1"), Transport = new HttpClientPipelineTransport(new HttpClient(handler)) };
        return new OpenAIClient(new ApiKeyCredential("k"), options).GetChatClient("gpt-4o");
    }

    [Test]
    public async Task Enumerate_SdkUpdates_BecomeChunksWithContentAndExtras()
    {
        var client = ClientServing(
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}],\"x_vendor\":7}\n\n" +
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
            "data: [DONE]\n\n");

        var iterator = new OpenAiSdkStreamingIterator(client.CompleteChatStreamingAsync([new UserChatMessage("hi")]));
        var chunks = await ListStreamingIterator.CollectAsync(iterator);

        Assert.That(chunks, Has.Count.EqualTo(2));
        Assert.That(Chunks.Text(chunks), Is.EqualTo("Hi"));
        Assert.That(Chunks.FinishReasons(chunks), Is.EqualTo(new[] { "stop" }));
        Assert.That(chunks[0].Json!["x_vendor"]!.GetValue<int>(), Is.EqualTo(7), "fields the SDK does not model are kept");
        Assert.That(chunks[0].Json!["id"]!.GetValue<string>(), Is.EqualTo("c1"));
    }

    private sealed class SseHandler(string sse) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(sse, Encoding.UTF8) };
            response.Content.Headers.ContentType = new("text/event-stream");
            return Task.FromResult(response);
        }
    }
}
