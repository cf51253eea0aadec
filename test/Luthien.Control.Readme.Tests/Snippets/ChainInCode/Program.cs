using Luthien.Control;
using Luthien.Control.AspNetCore;
using Luthien.Control.Streaming;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    .UsePolicies(chain => chain                                       // the root, in this order; no policy file
        .Add<ClientApiKeyAuthPolicy>(new { keys = new[] { "client-key-1" } })
        .Add("ModelNameReplacement", new { model_mapping = new Dictionary<string, string> { ["fast"] = "gpt-4o-mini" } })
        .Add<MaxTokensCapPolicy>(new MaxTokensCapOptions { MaxTokens = 512 })
        .Add<TransactionContextLoggingPolicy>()
        .Add<SendBackendRequestPolicy>());

var app = builder.Build();
app.MapLuthienControl("/v1");
app.Run();
