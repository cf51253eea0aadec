using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;

namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>What the app under test calls as its backend, both pointed at the same <see cref="FakeBackend"/>.</summary>
public enum BackendKind
{
    /// <summary>The library's raw HTTP backend (lossless).</summary>
    Raw,

    /// <summary>
    /// <c>UseChatClientBackend</c> with Microsoft.Extensions.AI.OpenAI's <see cref="IChatClient"/> over OpenAI's
    /// <c>ChatClient</c>: every request and answer translated to and from Microsoft.Extensions.AI's types.
    /// </summary>
    ChatClient,
}

/// <summary>Sets up a <see cref="BackendKind"/>, and the skips of what only the raw backend can keep.</summary>
internal static class BackendKinds
{
    /// <summary>Makes the app's backend <paramref name="kind"/>; the raw one is the default and needs nothing.</summary>
    public static void Use(LuthienControlBuilder luthien, BackendKind kind, Uri backendUrl)
    {
        if (kind == BackendKind.ChatClient)
        {
            luthien.UseChatClientBackend(_ => CreateChatClient(backendUrl));
        }
    }

    /// <summary>For the sample app (which calls <c>AddLuthienControl</c> itself): makes its backend <paramref name="kind"/>.</summary>
    public static Action<IServiceCollection>? Services(BackendKind kind, Uri backendUrl) =>
        kind == BackendKind.Raw ? null : services => Use(services.AddLuthienControl(_ => { }), kind, backendUrl);

    /// <summary>The IChatClient an app fronts in the <see cref="BackendKind.ChatClient"/> kind (SDK retries off, as a proxy wants).</summary>
    public static IChatClient CreateChatClient(Uri backendUrl) =>
        new OpenAI.Chat.ChatClient("gpt-4o", new ApiKeyCredential("backend-key"), new OpenAIClientOptions { Endpoint = backendUrl, RetryPolicy = new ClientRetryPolicy(0) })
            .AsIChatClient();

    /// <summary>Skips a test of a raw-wire detail (exact bytes, vendor fields, backend ids) that no IChatClient translation keeps.</summary>
    public static void AssumeRawWire(BackendKind kind, string why) =>
        Assume.That(kind, Is.EqualTo(BackendKind.Raw), "Raw backend only: " + why);

    /// <summary>Skips a cell of an API the IChatClient backend does not serve (it refuses Responses and legacy completions with 404).</summary>
    public static void AssumeServes(BackendKind kind, ModelApi api) =>
        Assume.That(kind == BackendKind.Raw || api == ModelApi.Chat, Is.True, $"The IChatClient backend serves chat completions only; {api} is refused (see ChatClientBackendTests).");
}
