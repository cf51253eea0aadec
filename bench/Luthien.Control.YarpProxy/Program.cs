// A plain YARP pass-through, the .NET bar for proxies, for the end-to-end comparison.
//   --urls http://127.0.0.1:6591  --backend http://127.0.0.1:6590  [--Logging:LogLevel:Default=Warning]
// The host is built like the sample's (WebApplication.CreateBuilder, its default logging), so that the comparison
// measures the proxying, not two different host set-ups.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddHttpForwarder();
var app = builder.Build();
app.MapForwarder("/{**catch-all}", app.Configuration["backend"] ?? "http://127.0.0.1:6590");
app.Run();
