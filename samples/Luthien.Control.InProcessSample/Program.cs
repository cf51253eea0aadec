using Luthien.Control;
using Luthien.Control.InProcessSample;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

// The same policies as the HTTP endpoints, in-process: a policy file, a chat client pipeline, no ASP.NET Core.
var services = new ServiceCollection();
services.AddLuthienControl(o => o.PolicyFile = Path.Combine(AppContext.BaseDirectory, "policies.json"));
services.AddChatClient(_ => new LocalModel())
    .UseFunctionInvocation()
    .UseLuthienControl();

var deleted = 0;
var tools = new ChatOptions
{
    Tools =
    [
        AIFunctionFactory.Create((string city) => $"sunny in {city}", "get_weather", "The weather in a city."),
        AIFunctionFactory.Create((string path) => { deleted++; return $"deleted {path}"; }, "delete_files", "Deletes files."),
    ],
};

await using var provider = services.BuildServiceProvider();
var chat = provider.GetRequiredService<IChatClient>();

await AskAsync("Echo this: the key is sk-ABCDEFGHIJKLMNOPQRSTUVWX, keep it safe.");
await AskAsync("What is the weather in Paris?");
await AskAsync("Please clean up my disk.");
Console.WriteLine($"delete_files ran {deleted} times.");

try
{
    await chat.GetResponseAsync("My key is sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123, is it valid?");
}
catch (ControlPolicyException refused)
{
    Console.WriteLine($"> My key is sk-proj-…, is it valid?\n  refused before the model: {refused.StatusCode} {refused.Code}: {refused.Message}");
}

async Task AskAsync(string prompt)
{
    Console.Write($"> {prompt}\n  ");
    ChatFinishReason? finish = null;
    await foreach (var update in chat.GetStreamingResponseAsync(prompt, tools))
    {
        Console.Write(update.Text);
        finish = update.FinishReason ?? finish;
    }

    Console.WriteLine($"\n  [finish: {finish}]");
}
