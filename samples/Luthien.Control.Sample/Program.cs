using Luthien.Control.AspNetCore;
using Luthien.Control.Sample;
using Luthien.Control.PostgreSql;
using Luthien.Control.Sqlite;

var builder = WebApplication.CreateBuilder(args);

// Listen on the contract's default address unless --urls / ASPNETCORE_URLS / Kestrel config says otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["Kestrel:Endpoints:Http:Url"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

// The sample keeps an audit log in ./luthien.db (SQLite) unless configured otherwise (Provider None turns it off).
if (string.IsNullOrEmpty(builder.Configuration["Luthien:TransactionLog:Provider"]))
{
    builder.Configuration["Luthien:TransactionLog:Provider"] = "Sqlite";
    builder.Configuration["Luthien:TransactionLog:ConnectionString"] ??= "Data Source=luthien.db";
}

var luthien = builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    .AddPolicy<MaxTokensCapPolicy, MaxTokensCapOptions>("MaxTokensCap")
    .AddPolicy<DisclaimerPolicy, DisclaimerOptions>("Disclaimer")
    .AddSqliteStore()
    .AddPostgreSqlStore();

// No backend configured: answer from the embedded echo backend, so the sample runs with no network and no key.
var useEcho = string.IsNullOrWhiteSpace(builder.Configuration["Luthien:Backend:BaseUrl"]);
if (useEcho)
{
    EchoBackend.Use(luthien);
}

var app = builder.Build();

if (useEcho)
{
    app.Logger.LogInformation(
        "Using the embedded echo backend (it repeats the last user message). To use a real backend, set Luthien:Backend:BaseUrl " +
        "(e.g. --Luthien:Backend:BaseUrl=https://api.openai.com/v1, or the environment variable Luthien__Backend__BaseUrl) " +
        "and Luthien:Backend:ApiKey or OPENAI_API_KEY.");
}
else
{
    app.Logger.LogInformation("Using the backend at {BaseUrl}.", app.Configuration["Luthien:Backend:BaseUrl"]);
}

app.MapGet("/health", () => Results.Json(new { status = "ok" }, contentType: "application/json"));
app.MapLuthienControl("/v1");
app.MapLuthienAdmin("/admin");

app.Run();

/// <summary>The sample's entry point; public so that tests can host it.</summary>
public partial class Program;
