using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using NSubstitute;

namespace Luthien.Control.AI.Tests;

/// <summary>Registering an IChatClient as the endpoints' backend: it wins over the HTTP one whatever the order, and owns only what it made.</summary>
public class ChatClientBackendLuthienControlBuilderExtensionsTests
{
    private static ServiceProvider Build(Action<IServiceCollection> configure)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        configure(services);
        return services.BuildServiceProvider();
    }

    [Test]
    public async Task UseChatClientBackend_AddLuthienControlCalledAgainAfter_ChatClientIsStillTheBackend()
    {
        using var inner = Substitute.For<IChatClient>();
        await using var provider = Build(services =>
        {
            services.AddLuthienControl(_ => { }).UseChatClientBackend(inner);
            services.AddLuthienControl();
        });

        Assert.That(provider.GetRequiredService<IBackendClient>(), Is.InstanceOf<ChatClientBackendClient>());
        Assert.That(provider.GetServices<IBackendClient>().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task UseChatClientBackend_CalledTwice_TheLastOneAnswers()
    {
        using var first = Substitute.For<IChatClient>();
        using var second = Substitute.For<IChatClient>();
        await using var provider = Build(services => services.AddLuthienControl(_ => { }).UseChatClientBackend(first).UseChatClientBackend(_ => second));
        var transaction = new Transaction(TransactionRequest.Create(RequestKind.ChatCompletion, System.Text.Json.Nodes.JsonNode.Parse("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""")!.AsObject()));
        second.GetResponseAsync(Arg.Any<IEnumerable<ChatMessage>>(), Arg.Any<ChatOptions?>(), Arg.Any<CancellationToken>())
            .Returns(new ChatResponse(new ChatMessage(ChatRole.Assistant, "from the second")));

        await provider.GetRequiredService<IBackendClient>().SendAsync(transaction, CancellationToken.None);

        Assert.That(transaction.Response.Payload!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("from the second"));
        await first.DidNotReceiveWithAnyArgs().GetResponseAsync(default!, default, default);
    }

    [Test]
    public async Task UseChatClientBackend_Factory_ClientDisposedWithTheServices()
    {
        var inner = Substitute.For<IChatClient>();
        var provider = Build(services => services.AddLuthienControl(_ => { }).UseChatClientBackend(_ => inner));
        _ = provider.GetRequiredService<IBackendClient>();

        await provider.DisposeAsync();

        inner.Received(1).Dispose();
    }

    [Test]
    public async Task UseChatClientBackend_Instance_ClientLeftToItsOwner()
    {
        var inner = Substitute.For<IChatClient>();
        var provider = Build(services => services.AddLuthienControl(_ => { }).UseChatClientBackend(inner));
        _ = provider.GetRequiredService<IBackendClient>();

        await provider.DisposeAsync();

        inner.DidNotReceive().Dispose();
    }
}
