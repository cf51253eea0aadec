using Luthien.Control.AspNetCore;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddAuthentication().AddJwtBearer();               // your identity provider (Authentication:Schemes:Bearer)
builder.Services.AddAuthorization();
builder.Services.AddHealthChecks().AddLuthienBackend(tags: ["ready"]);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));

var app = builder.Build();
app.MapLuthienControl("/v1").RequireAuthorization();             // a 401/403 here is an OpenAI error clients can read
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.Run();
