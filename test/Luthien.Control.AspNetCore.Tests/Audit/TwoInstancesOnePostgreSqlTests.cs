using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.PostgreSql;
using Npgsql;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>
/// Two sample instances on one PostgreSQL database: a key created in one's admin area works on the other; revoked in
/// one, refused by the other within 5 s; both instances' transactions in one table.
/// </summary>
public sealed class TwoInstancesOnePostgreSqlTests
{
    private FakeBackend _backend = null!;
    private LuthienAppFactory _first = null!;
    private LuthienAppFactory _second = null!;
    private string _database = null!;
    private string _connection = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var server = Environment.GetEnvironmentVariable("LUTHIEN_TEST_POSTGRES");
        if (string.IsNullOrEmpty(server))
        {
            Assert.Ignore("LUTHIEN_TEST_POSTGRES is not set: .ci/run starts a PostgreSQL server for the tests.");
        }

        _database = "luthien_two_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        _connection = new NpgsqlConnectionStringBuilder(server) { Database = _database }.ConnectionString;
        _backend = await FakeBackend.StartAsync();
        _backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        var policyFile = PolicyFiles.Write("""
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ClientApiKeyAuth", "config": { "source": "database" } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        Dictionary<string, string?> Settings() => new()
        {
            ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString(),
            ["Luthien:TransactionLog:Provider"] = "PostgreSql",
            ["Luthien:TransactionLog:ConnectionString"] = _connection,
            ["Luthien:PolicyFile"] = policyFile,
            ["Luthien:Admin:Password"] = "two-instances-password",
        };
        _first = new LuthienAppFactory(Settings());
        _second = new LuthienAppFactory(Settings());
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_first is null)
        {
            return;
        }

        await _first.DisposeAsync();
        await _second.DisposeAsync();
        await _backend.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = new NpgsqlConnection(Environment.GetEnvironmentVariable("LUTHIEN_TEST_POSTGRES"));
        await admin.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<HttpClient> LogInAsync(LuthienAppFactory app)
    {
        var client = app.CreateClient();
        var response = await client.PostAsync("/admin/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = "admin",
            ["password"] = "two-instances-password",
        }));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "logged in (redirected to the list)");
        return client;
    }

    private static async Task<(HttpStatusCode Status, string Id)> ChatAsync(LuthienAppFactory app, string key)
    {
        using var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Headers.GetValues("x-luthien-transaction-id").Single());
    }

    [Test]
    public async Task ClientKey_CreatedOnOneRevokedOnOne_OtherFollowsWithinFiveSeconds()
    {
        using var admin = await LogInAsync(_first);
        var created = await admin.PostAsJsonAsync("/admin/api/keys", new { name = "shared-team" });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var body = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var key = (string)body["key"]!;
        var id = (long)body["id"]!;

        var (onSecond, secondId) = await ChatAsync(_second, key);
        var (onFirst, firstId) = await ChatAsync(_first, key);
        Assert.That((onSecond, onFirst), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)), "a key created on one instance works on both");

        var revoked = await admin.DeleteAsync($"/admin/api/keys/{id}");
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refused = false;
        while (clock.Elapsed < TimeSpan.FromSeconds(5) && !refused)
        {
            refused = (await ChatAsync(_second, key)).Status == HttpStatusCode.Unauthorized;
            if (!refused)
            {
                await Task.Delay(100);
            }
        }

        Assert.That(refused, Is.True, "revoked on the first instance, refused by the second within 5 s");
        Assert.That((await ChatAsync(_first, key)).Status, Is.EqualTo(HttpStatusCode.Unauthorized), "and by the first at once");

        // Both instances' transactions, in one table.
        await using var store = new PostgreSqlControlStore(_connection);
        var found = new HashSet<string>();
        for (var i = 0; i < 60 && found.Count < 2; i++)
        {
            foreach (var transaction in new[] { firstId, secondId })
            {
                if ((await store.GetTransactionAsync(transaction, CancellationToken.None)).Any(r => r.Datatype == "outcome"))
                {
                    found.Add(transaction);
                }
            }

            await Task.Delay(50);
        }

        Assert.That(found, Is.EquivalentTo(new[] { firstId, secondId }));
    }
}
