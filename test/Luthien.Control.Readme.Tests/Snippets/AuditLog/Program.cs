using Luthien.Control.AspNetCore;
using Luthien.Control.PostgreSql;
using Luthien.Control.Sqlite;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    .AddSqliteStore()        // Luthien.Control.Sqlite
    .AddPostgreSqlStore();   // Luthien.Control.PostgreSql — register what you use; Luthien:TransactionLog:Provider picks

var app = builder.Build();
app.MapLuthienControl("/v1");
app.Run();
