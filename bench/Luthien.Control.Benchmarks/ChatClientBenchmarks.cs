using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Luthien.Control.Streaming;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.Benchmarks;

/// <summary>
/// What <c>UseLuthienControl()</c> adds to a streamed <see cref="IChatClient"/> answer, same run: the bare client, the
/// middleware with a pass-through chain (only <c>SendBackendRequest</c>), and with a content and a tool policy. The
/// inner client hands out prepared updates (no I/O, no allocation of its own per update), so what is left is the
/// middleware's cost. The cost per update is the difference between the two sizes divided by 200 (what a call costs once
/// — its transaction, the request payload — cancels out).
/// </summary>
[MemoryDiagnoser]
public class ChatClientBenchmarks
{
    private ServiceProvider _passThroughServices = null!;
    private ServiceProvider _policedServices = null!;
    private ServiceProvider _contentServices = null!;
    private ServiceProvider _toolServices = null!;
    private IChatClient _content = null!;
    private IChatClient _tool = null!;
    private IChatClient _bare = null!;
    private IChatClient _passThrough = null!;
    private IChatClient _policed = null!;
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "Tell me a story.")];

    /// <summary>Updates per answer: text a few words each, then a finish.</summary>
    [Params(1, 201)]
    public int Updates { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var updates = new List<ChatResponseUpdate>(Updates);
        for (var i = 0; i < Updates - 1; i++)
        {
            updates.Add(new ChatResponseUpdate(ChatRole.Assistant, $" word{i % 10} and more") { ResponseId = "r", MessageId = "m", ModelId = "gpt-4o-mini" });
        }

        updates.Add(new ChatResponseUpdate { Role = ChatRole.Assistant, FinishReason = ChatFinishReason.Stop, ResponseId = "r", MessageId = "m" });
        _bare = new PreparedChatClient(updates);
        (_passThroughServices, _passThrough) = Build(_ => new SendBackendRequestPolicy(new NoBackend()));
        (_policedServices, _policed) = Build(_ => new SerialPolicy(
        [
            new ResponseContentPolicy(["sk-[A-Za-z0-9]{20,}"]),
            new ToolCallPolicy(["get_weather"]),
            new SendBackendRequestPolicy(new NoBackend()),
        ]));
        (_contentServices, _content) = Build(_ => new SerialPolicy([new ResponseContentPolicy(["sk-[A-Za-z0-9]{20,}"]), new SendBackendRequestPolicy(new NoBackend())]));
        (_toolServices, _tool) = Build(_ => new SerialPolicy([new ToolCallPolicy(["get_weather"]), new SendBackendRequestPolicy(new NoBackend())]));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _passThroughServices.Dispose();
        _policedServices.Dispose();
        _contentServices.Dispose();
        _toolServices.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Bare() => DrainAsync(_bare);

    [Benchmark]
    public Task<int> PassThroughChain() => DrainAsync(_passThrough);

    [Benchmark]
    public Task<int> ContentAndToolChain() => DrainAsync(_policed);

    [Benchmark]
    public Task<int> ContentChain() => DrainAsync(_content);

    [Benchmark]
    public Task<int> ToolChain() => DrainAsync(_tool);

    private async Task<int> DrainAsync(IChatClient client)
    {
        var count = 0;
        await foreach (var update in client.GetStreamingResponseAsync(_messages))
        {
            count += update.Contents.Count;
        }

        return count;
    }

    private (ServiceProvider Services, IChatClient Client) Build(Func<IServiceProvider, ControlPolicy> root)
    {
        var services = new ServiceCollection();
        services.AddLuthienControl().UsePolicy(root);
        services.AddChatClient(_bare).UseLuthienControl();
        var provider = services.BuildServiceProvider();
        return (provider, provider.GetRequiredService<IChatClient>());
    }

    /// <summary>The backend the registration would use over HTTP; in-process the inner client is called instead.</summary>
    private sealed class NoBackend : IBackendClient
    {
        public ValueTask SendAsync(Transaction transaction, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("In-process, SendBackendRequest calls the inner client.");
    }

    /// <summary>A model that hands out the same prepared updates on every call.</summary>
    private sealed class PreparedChatClient(List<ChatResponseUpdate> updates) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var update in updates)
            {
                yield return update;
            }

            await Task.CompletedTask;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
