using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.Sqlite;
using Microsoft.Extensions.Hosting;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary><c>ClientApiKeyAuth</c> with <c>"source": "database"</c>, through the real pipeline and a real SQLite file.</summary>
public sealed class DatabaseClientKeyTests : FakeBackendAppTests
{
    private readonly AuditDatabase _database = AuditDatabase.Create();

    private SqliteControlStore Store => _database.Store;

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        return new(_database.Settings())
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:TransactionLog:KeyCacheSeconds"] = "0.5",
            ["Luthien:PolicyFile"] = PolicyFiles.Write("""
                { "type": "SerialPolicy", "config": { "policies": [
                  { "type": "ClientApiKeyAuth", "config": { "source": "database" } },
                  { "type": "SendBackendRequest", "config": {} }
                ] } }
                """),
        };
    }

    [OneTimeTearDown]
    public void DeleteDatabase() => _database.Dispose();

    private async Task<HttpResponseMessage> PostAsync(string key)
    {
        using var client = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await client.SendAsync(request);
    }

    private async Task<(string Key, StoredClientKey Stored)> CreateKeyAsync(string name)
    {
        var key = ClientKeyHash.NewKey();
        return (key, await Store.CreateAsync(name, ClientKeyHash.Of(key), DateTime.UtcNow, CancellationToken.None));
    }

    [Test]
    public async Task ApplyAsync_KeyInDatabase_ServedAndNamed()
    {
        Backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        var (key, _) = await CreateKeyAsync("ci-bot");

        var response = await PostAsync(key);
        var id = response.Headers.GetValues("x-luthien-transaction-id").Single();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var rows = await _database.RowsAsync(id);
        Assert.That((string?)rows["outcome"]["client"]!["key_name"], Is.EqualTo("ci-bot"));
    }

    [Test]
    public async Task ApplyAsync_UnknownKey_Refused401()
    {
        var response = await PostAsync(ClientKeyHash.NewKey());

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task ApplyAsync_KeyRevokedInStore_RefusedWithinCacheTime()
    {
        Backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        var (key, stored) = await CreateKeyAsync("soon-gone");
        Assert.That((await PostAsync(key)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // Revoked through the store, as another instance would: this one learns of it when its cache expires.
        await Store.RevokeAsync(stored.Id, DateTime.UtcNow, CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(0.6));

        Assert.That((await PostAsync(key)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    // Start failures on hosts of their own: the test server's deferred host can report a failed start as a disposed
    // service provider instead of the failure itself.
    [Test]
    public void Start_DatabaseSourceWithoutStore_FailsNamingTheField()
    {
        var error = Assert.CatchAsync(async () => await LuthienTestHost.StartAsync(
            new() { ["Luthien:PolicyFile"] = PolicyFiles.Write("""{ "type": "ClientApiKeyAuth", "config": { "source": "database" } }""") },
            configure: luthien => luthien.AddSqliteStore()));

        Assert.That(error!.ToString(), Does.Contain("source").And.Contain("Luthien:TransactionLog:Provider"));
    }

    [Test]
    public void Start_ProviderWithoutConnectionString_FailsWithMessage()
    {
        var error = Assert.CatchAsync(async () => await LuthienTestHost.StartAsync(
            new() { ["Luthien:TransactionLog:Provider"] = "Sqlite", ["Luthien:TransactionLog:ConnectionString"] = "" },
            configure: luthien => luthien.AddSqliteStore()));

        Assert.That(error!.ToString(), Does.Contain("Luthien:TransactionLog:ConnectionString must be set"));
    }

    [Test]
    public void Start_ProviderNotRegistered_FailsNamingThePackage()
    {
        // A host of its own that registers no storage package (the sample registers both).
        var error = Assert.CatchAsync(async () => await LuthienTestHost.StartAsync(new()
        {
            ["Luthien:TransactionLog:Provider"] = "PostgreSql",
            ["Luthien:TransactionLog:ConnectionString"] = "Host=127.0.0.1",
        }));

        Assert.That(error!.ToString(), Does.Contain("Luthien.Control.PostgreSql").And.Contain("AddPostgreSqlStore"));
    }
}
