using Luthien.Control.AI;

// In Microsoft.Extensions.AI's namespace, as its own Use… extensions are: the call needs no using of its own.
namespace Microsoft.Extensions.AI;

/// <summary>Puts Luthien.Control's policies into a chat client pipeline.</summary>
public static class LuthienChatClientBuilderExtensions
{
    /// <summary>
    /// Runs the policies registered with <c>AddLuthienControl</c> (the same policy file, built-ins and custom policies as
    /// the HTTP endpoints) around every call through the pipeline: request policies on the messages and options,
    /// response policies on text, refusals and function calls, buffered and streamed. In the policy chain,
    /// <c>SendBackendRequest</c> calls the next client of this pipeline.
    /// </summary>
    /// <remarks>
    /// Add it after <c>UseFunctionInvocation()</c> (so inside it): a function call a policy does not allow is removed
    /// before the function-invoking client sees it, so the function never runs.
    /// </remarks>
    /// <param name="builder">The chat client pipeline.</param>
    /// <returns><paramref name="builder"/>.</returns>
    /// <exception cref="InvalidOperationException">When the client is built: <c>AddLuthienControl</c> was not called.</exception>
    /// <example>
    /// <code>
    /// services.AddLuthienControl(o => o.PolicyFile = "policies.json");
    /// services.AddChatClient(sp => innerChatClient)
    ///     .UseFunctionInvocation()
    ///     .UseLuthienControl();
    /// </code>
    /// </example>
    public static ChatClientBuilder UseLuthienControl(this ChatClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new LuthienChatClient(inner, services));
    }
}
