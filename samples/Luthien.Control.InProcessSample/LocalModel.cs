using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Luthien.Control.InProcessSample;

/// <summary>
/// A stand-in for a real model, so that the sample runs with no key and no network: it asks for the function the prompt
/// names ("weather" → get_weather, "clean" → delete_files), answers a function's result in words, and otherwise echoes
/// the prompt, streamed a word at a time. Point <c>AddChatClient</c> at any real <see cref="IChatClient"/> instead.
/// </summary>
internal sealed class LocalModel : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var last = messages.Last();
        if (last.Contents.OfType<FunctionResultContent>().FirstOrDefault() is { } result)
        {
            foreach (var word in Words($"The tool says: {result.Result}."))
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, word);
            }

            yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop };
            yield break;
        }

        var prompt = last.Text;
        var call = prompt.Contains("weather", StringComparison.OrdinalIgnoreCase) ? new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" })
            : prompt.Contains("clean", StringComparison.OrdinalIgnoreCase) ? new FunctionCallContent("call_2", "delete_files", new Dictionary<string, object?> { ["path"] = "/" })
            : null;
        if (call is not null)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, [call]) { FinishReason = ChatFinishReason.ToolCalls };
            yield break;
        }

        foreach (var word in Words(prompt))
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, word);
        }

        yield return new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private static IEnumerable<string> Words(string text) => text.Split(' ').Select((w, i) => i == 0 ? w : " " + w);
}
