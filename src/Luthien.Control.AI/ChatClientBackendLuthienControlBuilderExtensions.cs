using Luthien.Control;
using Luthien.Control.AI;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

// In DI's own namespace, as AddLuthienControl is: the call needs no using of its own.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes an <see cref="IChatClient"/> the backend of Luthien.Control's HTTP endpoints.</summary>
public static class ChatClientBackendLuthienControlBuilderExtensions
{
    /// <summary>
    /// Serves the endpoints' chat completions from <paramref name="innerClient"/> instead of an OpenAI-compatible HTTP
    /// backend, so OpenAI-SDK clients reach any Microsoft.Extensions.AI provider (Ollama, Azure AI Inference, …) under
    /// the same policies. The caller keeps ownership of <paramref name="innerClient"/>.
    /// </summary>
    /// <param name="builder">The builder <c>AddLuthienControl</c> returned.</param>
    /// <param name="innerClient">The chat client that answers.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <remarks>See <see cref="UseChatClientBackend(LuthienControlBuilder, Func{IServiceProvider, IChatClient})"/> for what is translated.</remarks>
    public static LuthienControlBuilder UseChatClientBackend(this LuthienControlBuilder builder, IChatClient innerClient)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(innerClient);
        return Register(builder, _ => innerClient, ownsInner: false);
    }

    /// <summary>
    /// Serves the endpoints' chat completions from the chat client <paramref name="innerClientFactory"/> makes instead of
    /// an OpenAI-compatible HTTP backend, so OpenAI-SDK clients reach any Microsoft.Extensions.AI provider (Ollama, Azure
    /// AI Inference, …) under the same policies. <c>SendBackendRequest</c> then calls that client.
    /// </summary>
    /// <param name="builder">The builder <c>AddLuthienControl</c> returned.</param>
    /// <param name="innerClientFactory">Makes the chat client once, with the application's services; the library disposes it.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <remarks>
    /// <para>
    /// Translated: a <c>POST …/chat/completions</c> body becomes <see cref="ChatMessage"/>s (text, images, audio, files,
    /// tool calls and results, names) and <see cref="ChatOptions"/> (model, sampling, stop, seed, response format, tools,
    /// tool choice; other members ride in <see cref="ChatOptions.AdditionalProperties"/>); the answer becomes a
    /// <c>chat.completion</c>, or one <c>chat.completion.chunk</c> per update with the usage chunk only when
    /// <c>stream_options.include_usage</c> asks for it. The raw backend's first-chunk and idle timeouts
    /// (<c>Luthien:Timeouts</c>) apply; the client's disconnect cancels the chat client's call; a failure of the chat
    /// client is 502 <c>backend_unavailable</c> (504 <c>backend_timeout</c> for a timeout) before the answer began, and
    /// the stream's error event after.
    /// </para>
    /// <para>
    /// Not translated: what a chat client's answer does not carry (logprobs, refusals as such, vendor fields, the
    /// backend's own ids and error bodies) is not in the output. <c>n</c> above 1 is refused (400). The Responses API,
    /// legacy completions and pass-through routes (models, embeddings, moderations) are refused with 404
    /// <c>not_found</c> naming this registration: a chat client has no equivalent of them, and answering them by
    /// translation would invent state and events a client would trust. <c>Luthien:Backend:*</c> and
    /// <c>SetBackendPolicy</c> do not apply.
    /// </para>
    /// <para>
    /// It replaces the HTTP backend whether it is called before or after another <c>AddLuthienControl</c>; called twice,
    /// the last one counts. Do not put <c>UseLuthienControl()</c> in the inner client's pipeline as well, or every
    /// request runs the policies twice.
    /// </para>
    /// </remarks>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .UseChatClientBackend(sp => new OllamaApiClient(new Uri("http://localhost:11434"), "llama3.2"));
    /// var app = builder.Build();
    /// app.MapLuthienControl("/v1");
    /// </code>
    /// </example>
    public static LuthienControlBuilder UseChatClientBackend(this LuthienControlBuilder builder, Func<IServiceProvider, IChatClient> innerClientFactory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(innerClientFactory);
        return Register(builder, innerClientFactory, ownsInner: true);
    }

    private static LuthienControlBuilder Register(LuthienControlBuilder builder, Func<IServiceProvider, IChatClient> innerClientFactory, bool ownsInner)
    {
        // AddLuthienControl registers the HTTP backend with TryAdd: removed here, and not added back by a later call.
        builder.Services.RemoveAll<IBackendClient>();
        builder.Services.AddSingleton<IBackendClient>(sp => new ChatClientBackendClient(
            innerClientFactory(sp) ?? throw new InvalidOperationException("The UseChatClientBackend factory returned no chat client."),
            ownsInner,
            sp.GetRequiredService<IOptionsMonitor<LuthienOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()?.CreateLogger<ChatClientBackendClient>() ?? NullLogger<ChatClientBackendClient>.Instance));
        return builder;
    }
}
