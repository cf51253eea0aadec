using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.Readme.Tests;

/// <summary>
/// README's in-process snippet (Snippets/InProcess) over a fake <see cref="IChatClient"/>, with README's ToolCallPolicy
/// example (Snippets/PolicyFiles/tool-call-argument-rules.json) loaded by the real loader as the chain's policy.
/// </summary>
public class InProcessSnippetTests
{
    private readonly FakeChatClient _model = new();
    private ServiceProvider _services = null!;

    private static string PolicyFile => Path.Combine(AppContext.BaseDirectory, "policies.json");

    [OneTimeSetUp]
    public void SetUp()
    {
        // The snippet reads policies.json beside the app's assembly, as the README says to copy it to the output.
        var toolPolicy = JsonNode.Parse(File.ReadAllText(RepositoryFiles.Snippet("PolicyFiles/tool-call-argument-rules.json")))!;
        var file = new JsonObject
        {
            ["type"] = "SerialPolicy",
            ["config"] = new JsonObject { ["policies"] = new JsonArray(toolPolicy, JsonNode.Parse("""{ "type": "SendBackendRequest", "config": {} }""")) },
        };
        File.WriteAllText(PolicyFile, file.ToJsonString());

        _services = new ServiceCollection().AddPolicedChatClient(_model).BuildServiceProvider();
    }

    /// <summary>The app's chat client, owned by the services.</summary>
    private IChatClient Client => _services.GetRequiredService<IChatClient>();

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        await _services.DisposeAsync();
        _model.Dispose();
        File.Delete(PolicyFile);
    }

    [Test]
    public async Task GetResponseAsync_Text_PassesThroughThePolicies()
    {
        _model.Next = [new TextContent("It is sunny.")];

        var response = await Client.GetResponseAsync("Weather?");

        Assert.That(response.Text, Is.EqualTo("It is sunny."));
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.Stop));
    }

    [Test]
    public async Task GetResponseAsync_SqlCallThatDropsATable_IsRemovedAndEndsContentFilter()
    {
        _model.Next = [new FunctionCallContent("call_1", "run_sql", new Dictionary<string, object?> { ["query"] = "DROP TABLE users" })];

        var response = await Client.GetResponseAsync("Clean up");

        Assert.That(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>(), Is.Empty);
        Assert.That(response.FinishReason, Is.EqualTo(ChatFinishReason.ContentFilter));
    }

    [Test]
    public async Task GetStreamingResponseAsync_BlockedToolByName_NeverShown()
    {
        _model.Next = [new FunctionCallContent("call_2", "delete_files", new Dictionary<string, object?> { ["path"] = "/" })];
        var updates = new List<ChatResponseUpdate>();

        await foreach (var update in Client.GetStreamingResponseAsync("Tidy"))
        {
            updates.Add(update);
        }

        Assert.That(updates.SelectMany(u => u.Contents).OfType<FunctionCallContent>(), Is.Empty);
        Assert.That(updates.Select(u => u.FinishReason), Does.Contain(ChatFinishReason.ContentFilter));
    }

    /// <summary>A model that answers every call with <see cref="Next"/>, finishing with stop (or tool calls).</summary>
    private sealed class FakeChatClient : IChatClient
    {
        public IReadOnlyList<AIContent> Next { get; set; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, [.. Next])) { FinishReason = Finish });

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            foreach (var content in Next)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [content]);
            }

            yield return new ChatResponseUpdate { FinishReason = Finish };
        }

        private ChatFinishReason Finish => Next.OfType<FunctionCallContent>().Any() ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop;

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
