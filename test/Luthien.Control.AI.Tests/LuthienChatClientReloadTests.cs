using System.Runtime.CompilerServices;
using Luthien.Control.AI.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AI.Tests;

/// <summary>In-process, a changed policy file serves the next call; a stream under way finishes on its own chain.</summary>
public sealed class LuthienChatClientReloadTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private const string Redacting = """{ "type": "ResponseContentPolicy", "config": { "patterns": ["SECRET-[0-9]+"], "action": "redact", "replacement": "[REDACTED]" } }""";

    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("luthien-ai-reload-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private static string Chain(string policy) =>
        $$"""{ "type": "SerialPolicy", "config": { "policies": [ {{policy}}, { "type": "SendBackendRequest", "config": {} } ] } }""";

    [Test]
    public async Task GetStreamingResponse_FileChangedMidStream_StreamKeepsItsChainAndNextCallUsesNew()
    {
        var path = Path.Combine(_folder, "policies.json");
        File.WriteAllText(path, Chain(Redacting));
        var inner = new ScriptedChatClient();
        var firstHalfSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondHalf = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        inner.Streams(() => Paused(firstHalfSent, secondHalf.Task));
        inner.Streams(new ChatResponseUpdate(ChatRole.Assistant, "SECRET-1234 bye"));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLuthienControl(o => o.PolicyFile = path);
        services.AddChatClient(_ => inner).UseLuthienControl();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IChatClient>();
        var root = provider.GetRequiredService<RootPolicyProvider>();

        var first = InProcessChain.AskAsync(client, streaming: true, "hi");
        await firstHalfSent.Task.WaitAsync(Generous);
        var reloaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        root.Reloaded += _ => reloaded.TrySetResult();
        File.WriteAllText(path, Chain("""{ "type": "NoopPolicy", "config": {} }"""));
        await reloaded.Task.WaitAsync(Generous);
        secondHalf.SetResult();
        var (firstResponse, firstUpdates) = await first.WaitAsync(Generous);
        var (secondResponse, _) = await InProcessChain.AskAsync(client, streaming: true, "hi");

        Assert.That(firstResponse.Text, Is.EqualTo("hello [REDACTED] bye"));
        InProcessChain.AssertNowhere("SECRET-1234", firstResponse, firstUpdates);
        Assert.That(secondResponse.Text, Is.EqualTo("SECRET-1234 bye"));
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Paused(TaskCompletionSource firstHalfSent, Task secondHalf, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return new ChatResponseUpdate(ChatRole.Assistant, "hello ");
        firstHalfSent.TrySetResult();
        await secondHalf.WaitAsync(cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, "SECRET-1234 bye");
    }
}
