using Luthien.Control.AspNetCore;
using Luthien.Control.Sqlite;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien")).AddSqliteStore();
var app = builder.Build();
app.MapLuthienControl("/v1");
app.MapLuthienAdmin("/admin");   // on only while Luthien:Admin:Password is set
app.Run();
