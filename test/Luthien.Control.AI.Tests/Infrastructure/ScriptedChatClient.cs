using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI.Tests.Infrastructure;

/// <summary>
/// A chat client that answers with scripted M.E.AI objects, for what no OpenAI wire answer produces (reasoning, several
/// messages, additional properties, raw representations), recording what it was asked and whether a stream was
/// disposed and its token cancelled.
/// </summary>
internal sealed class ScriptedChatClient : IChatClient
{
    private readonly Queue<Func<IAsyncEnumerable<ChatResponseUpdate>>> _streams = new();
    private readonly Queue<ChatResponse> _responses = new();

    /// <summary>The messages of every call, in order.</summary>
    public List<List<ChatMessage>> Calls { get; } = [];

    /// <summary>The options of every call, in order.</summary>
    public List<ChatOptions?> Options { get; } = [];

    /// <summary>Whether the last stream's enumerator was disposed.</summary>
    public bool StreamDisposed { get; private set; }

    /// <summary>The token the last stream was enumerated with.</summary>
    public CancellationToken StreamToken { get; private set; }

    /// <summary>Answers the next buffered call with <paramref name="response"/>.</summary>
    public void Answers(ChatResponse response) => _responses.Enqueue(response);

    /// <summary>Answers the next streamed call with <paramref name="updates"/>.</summary>
    public void Streams(params ChatResponseUpdate[] updates) => _streams.Enqueue(() => Yield(updates));

    /// <summary>Answers the next streamed call with a stream of the caller's making.</summary>
    public void Streams(Func<IAsyncEnumerable<ChatResponseUpdate>> stream) => _streams.Enqueue(stream);

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls.Add([.. messages]);
        Options.Add(options);
        return Task.FromResult(_responses.Dequeue());
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Calls.Add([.. messages]);
        Options.Add(options);
        StreamDisposed = false;
        StreamToken = cancellationToken;
        try
        {
            await foreach (var update in _streams.Dequeue()().WithCancellation(cancellationToken))
            {
                yield return update;
            }
        }
        finally
        {
            StreamDisposed = true;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Yield(ChatResponseUpdate[] updates)
    {
        foreach (var update in updates)
        {
            await Task.Yield();
            yield return update;
        }
    }
}
