using Luthien.Control;              // LuthienTelemetry
using Luthien.Control.AspNetCore;
using OpenTelemetry.Metrics;        // packages OpenTelemetry.Extensions.Hosting and OpenTelemetry.Instrumentation.AspNetCore
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"));
builder.Services.AddOpenTelemetry()
    .WithTracing(t => t.AddSource(LuthienTelemetry.SourceName).AddAspNetCoreInstrumentation())
    .WithMetrics(m => m.AddMeter(LuthienTelemetry.MeterName));

var app = builder.Build();
app.MapLuthienControl("/v1");
app.Run();
