using Luthien.Control.AspNetCore;   // MapLuthienControl; UseChatClientBackend needs no using of its own
using OllamaSharp;                  // package OllamaSharp, one IChatClient among many

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    .UseChatClientBackend(sp => new OllamaApiClient(new Uri("http://localhost:11434"), "llama3.2"));   // or (IChatClient)

var app = builder.Build();
app.MapLuthienControl("/v1");
app.Run();
