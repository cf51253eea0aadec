using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

public static class PolicedChatClientExtensions
{
    // The app's IChatClient: innerChatClient behind the policies of policies.json.
    public static IServiceCollection AddPolicedChatClient(this IServiceCollection services, IChatClient innerChatClient)
    {
        services.AddLuthienControl(o => o.PolicyFile = Path.Combine(AppContext.BaseDirectory, "policies.json"));   // the core package: no ASP.NET Core needed
        services.AddChatClient(innerChatClient)                          // any IChatClient: OpenAI, Azure, Ollama, …
            .UseFunctionInvocation()
            .UseLuthienControl();                                        // package Luthien.Control.AI
        return services;
    }
}
