using Luthien.Control.AspNetCore;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    .AddPolicy<MaxTokensCapPolicy, MaxTokensCapOptions>("MaxTokensCap")   // your own policies, by name
    .AddPolicy<DisclaimerPolicy, DisclaimerOptions>("Disclaimer");

var app = builder.Build();
app.MapLuthienControl("/v1");   // POST /v1/chat/completions, /v1/responses, /v1/completions and Azure's /openai/… routes
                                // policed; what Passthrough:Allow lists forwarded
app.Run();
