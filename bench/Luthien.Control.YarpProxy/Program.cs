// A plain YARP pass-through, the .NET bar for proxies, for the end-to-end comparison.
//   --urls http://127.0.0.1:6591  --backend http://127.0.0.1:6590
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddHttpForwarder();
var app = builder.Build();
app.MapForwarder("/{**catch-all}", app.Configuration["backend"] ?? "http://127.0.0.1:6590");
app.Run();
