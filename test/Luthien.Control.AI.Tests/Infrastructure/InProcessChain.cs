using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AI.Tests.Infrastructure;

/// <summary>
/// The chain the in-process tests run: Microsoft.Extensions.AI's function invocation over <c>UseLuthienControl</c> over
/// an inner client, with a policy file of one policy (or none) before <c>SendBackendRequest</c>; and what the tests ask
/// of it and check in what comes back.
/// </summary>
internal static class InProcessChain
{
    /// <summary>Builds the chain; <paramref name="policy"/> is one policy's JSON, or null for <c>SendBackendRequest</c> alone.</summary>
    public static TestApp Start(string folder, string? policy, IChatClient inner)
    {
        var path = Path.Combine(folder, "policies.json");
        var first = policy is null ? string.Empty : policy + ", ";
        File.WriteAllText(path, $$"""{ "type": "SerialPolicy", "config": { "policies": [ {{first}}{ "type": "SendBackendRequest", "config": {} } ] } }""");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLuthienControl(o => o.PolicyFile = path);
        services.AddChatClient(_ => inner)
            .UseFunctionInvocation()
            .UseLuthienControl();
        var provider = services.BuildServiceProvider();
        return new TestApp(provider, provider.GetRequiredService<IChatClient>());
    }

    /// <summary>Asks once, buffered or streamed; a stream's updates are kept and coalesced into its response.</summary>
    public static async Task<(ChatResponse Response, List<ChatResponseUpdate> Updates)> AskAsync(IChatClient client, bool streaming, string prompt, ChatOptions? options = null)
    {
        List<ChatMessage> messages = [new(ChatRole.User, prompt)];
        if (!streaming)
        {
            return (await client.GetResponseAsync(messages, options), []);
        }

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(messages, options))
        {
            updates.Add(update);
        }

        return (updates.ToChatResponse(), updates);
    }

    /// <summary>Not in any content, raw representation or additional properties the app can reach.</summary>
    public static void AssertNowhere(string text, ChatResponse response, List<ChatResponseUpdate> updates)
    {
        Assert.That(response.Text, Does.Not.Contain(text));
        foreach (var update in updates)
        {
            Assert.That(Everything(update.RawRepresentation, update.AdditionalProperties, update.Contents), Does.Not.Contain(text));
        }

        foreach (var message in response.Messages)
        {
            Assert.That(Everything(message.RawRepresentation, message.AdditionalProperties, message.Contents), Does.Not.Contain(text));
        }

        Assert.That(Everything(response.RawRepresentation, response.AdditionalProperties, []), Does.Not.Contain(text));
    }

    private static string Everything(object? raw, AdditionalPropertiesDictionary? properties, IList<AIContent> contents) =>
        string.Join("\n", contents.Select(c => c switch
        {
            TextContent t => t.Text,
            TextReasoningContent r => r.Text,
            ErrorContent e => e.Message,
            FunctionCallContent f => f.Name + Serialize(f.Arguments),
            _ => string.Empty,
        } + Serialize(c.RawRepresentation) + Serialize(c.AdditionalProperties)).Append(Serialize(raw)).Append(Serialize(properties)));

    private static string Serialize(object? value) => value switch
    {
        null => string.Empty,
        string text => text,
        System.ClientModel.Primitives.IPersistableModel<object> model => System.ClientModel.Primitives.ModelReaderWriter.Write(model).ToString(),
        _ => JsonSerializer.Serialize(value, AIJsonUtilities.DefaultOptions),
    };
}

/// <summary>A chain built for one test; disposing it disposes its services.</summary>
internal sealed class TestApp(ServiceProvider provider, IChatClient client) : IAsyncDisposable
{
    public IChatClient Client { get; } = client;

    public ValueTask DisposeAsync() => provider.DisposeAsync();
}
