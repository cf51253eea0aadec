using System.Net;
using System.Text.Json;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>The admin area's JSON API under <c>/admin/api/</c>.</summary>
public sealed class AdminAreaApiTests
{
    [Test]
    public async Task ListTransactions_ContentType_IsApplicationJsonAsEveryJsonAnswer()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/transactions");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json"));
    }

    [Test]
    public async Task ListTransactions_Rows_OutcomeFieldsWithIdsNewestFirst()
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-a", AdminRows.Start));
        await app.WriteAsync(AdminRows.Transaction("ltx-b", AdminRows.Start.AddMinutes(1), stream: true, keyName: "team-b"));
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/transactions");
        var body = await ApiJson.ReadAsync(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var data = body.GetProperty("data").EnumerateArray().ToList();
        Assert.That(data.Select(d => d.GetProperty("transaction_id").GetString()), Is.EqualTo(new[] { "ltx-b", "ltx-a" }));
        var first = data[0];
        Assert.That(first.GetProperty("id").GetInt64(), Is.GreaterThan(0));
        Assert.That(first.GetProperty("datetime").GetDateTime(), Is.EqualTo(AdminRows.Start.AddMinutes(1)));
        Assert.That(first.GetProperty("datetime").GetString(), Does.EndWith("Z"));
        Assert.That(first.GetProperty("status").GetInt32(), Is.EqualTo(200));
        Assert.That(first.GetProperty("client").GetProperty("key_name").GetString(), Is.EqualTo("team-b"));
        Assert.That(first.GetProperty("usage").GetProperty("total_tokens").GetInt32(), Is.EqualTo(22));
        Assert.That(first.GetProperty("time_to_first_chunk_ms").GetDouble(), Is.EqualTo(231.5));
        Assert.That(body.GetProperty("has_more").GetBoolean(), Is.False);
    }

    [Test]
    public async Task ListTransactions_LimitAndBeforeId_Pages()
    {
        await using var app = await AdminApp.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            await app.WriteAsync(AdminRows.Transaction($"ltx-{i}", AdminRows.Start.AddMinutes(i)));
        }

        using var admin = await app.CreateClient().LoggedInAsync();

        var first = await ApiJson.ReadAsync(await admin.GetAsync("/admin/api/transactions?limit=2"));
        var next = first.GetProperty("next_before_id").GetInt64();
        var second = await ApiJson.ReadAsync(await admin.GetAsync($"/admin/api/transactions?limit=2&before_id={next}"));

        Assert.That(Ids(first), Is.EqualTo(new[] { "ltx-2", "ltx-1" }));
        Assert.That(first.GetProperty("has_more").GetBoolean(), Is.True);
        Assert.That(Ids(second), Is.EqualTo(new[] { "ltx-0" }));
        Assert.That(second.GetProperty("has_more").GetBoolean(), Is.False);
        Assert.That(second.GetProperty("next_before_id").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [TestCase("transaction_id=ltx-1", "ltx-1")]
    [TestCase("status=500", "ltx-2")]
    [TestCase("model=o3", "ltx-0")]
    [TestCase("key_name=ops", "ltx-2")]
    [TestCase("from=2025-06-01T09:01:00Z&to=2025-06-01T09:02:00Z", "ltx-1")]
    public async Task ListTransactions_Filter_OnlyMatches(string filter, string expected)
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-0", AdminRows.Start, model: "o3"));
        await app.WriteAsync(AdminRows.Transaction("ltx-1", AdminRows.Start.AddMinutes(1)));
        await app.WriteAsync(AdminRows.Transaction("ltx-2", AdminRows.Start.AddMinutes(2), status: 500, errorCode: "server_error", keyName: "ops"));
        using var admin = await app.CreateClient().LoggedInAsync();

        var body = await ApiJson.ReadAsync(await admin.GetAsync("/admin/api/transactions?" + filter));

        Assert.That(Ids(body), Is.EqualTo(new[] { expected }));
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=501", "limit")]
    [TestCase("limit=ten", "limit")]
    [TestCase("status=2xx", "status")]
    [TestCase("before_id=-1", "before_id")]
    [TestCase("from=yesterday", "from")]
    [TestCase("to=2025-13-01", "to")]
    public async Task ListTransactions_BadParameter_400InvalidRequestNamingIt(string query, string param)
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/transactions?" + query);
        var error = await ApiJson.ErrorAsync(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("invalid_request"));
        Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("invalid_request_error"));
        Assert.That(error.GetProperty("param").GetString(), Is.EqualTo(param));
    }

    [Test]
    public async Task GetTransaction_Known_RowsWithParsedData()
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-one", AdminRows.Start, stream: true));
        await app.WriteAsync(new TransactionLogRow("ltx-one", AdminRows.Start, "extra", "not json", "{\"n\":1}"));
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/transactions/ltx-one");
        var body = await ApiJson.ReadAsync(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetProperty("transaction_id").GetString(), Is.EqualTo("ltx-one"));
        var rows = body.GetProperty("rows").EnumerateArray().ToList();
        Assert.That(rows.Select(r => r.GetProperty("datatype").GetString()), Is.EqualTo(new[] { "request", "response", "outcome", "extra" }));
        Assert.That(rows[0].EnumerateObject().Select(p => p.Name), Is.SupersetOf(new[] { "datatype", "datetime", "data", "notes" }));
        Assert.That(rows[1].GetProperty("data").GetProperty("events").GetInt32(), Is.EqualTo(24));
        Assert.That(rows[0].GetProperty("notes").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(rows[3].GetProperty("data").GetString(), Is.EqualTo("not json"));
        Assert.That(rows[3].GetProperty("notes").GetProperty("n").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task GetTransaction_Unknown_404NotFound()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/transactions/ltx-nope");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await ApiJson.ErrorAsync(response)).GetProperty("code").GetString(), Is.EqualTo("not_found"));
    }

    [Test]
    public async Task CreateKey_Name_201WithKeyOnceAndListWithoutIt()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.PostJsonAsync("/admin/api/keys", "{\"name\":\"  batch-jobs \"}");
        var created = await ApiJson.ReadAsync(response);
        var key = created.GetProperty("key").GetString()!;
        var list = await ApiJson.ReadAsync(await admin.GetAsync("/admin/api/keys"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(created.GetProperty("name").GetString(), Is.EqualTo("batch-jobs"));
        Assert.That(key, Does.StartWith("lck-"));
        Assert.That(await app.Store.FindActiveAsync(ClientKeyHash.Of(key), CancellationToken.None), Is.Not.Null);
        var listed = list.GetProperty("data").EnumerateArray().Single();
        Assert.That(listed.GetProperty("id").GetInt64(), Is.EqualTo(created.GetProperty("id").GetInt64()));
        Assert.That(listed.GetProperty("active").GetBoolean(), Is.True);
        Assert.That(listed.TryGetProperty("key", out _), Is.False);
        Assert.That(list.GetRawText(), Does.Not.Contain(key));
    }

    [TestCase("{}")]
    [TestCase("{\"name\":\"\"}")]
    [TestCase("{\"name\":\"   \"}")]
    [TestCase("{\"name\":42}")]
    [TestCase("{\"name\":\"a\\nb\"}")]
    [TestCase("{\"name\":\"admin\\u202Egpj.exe\"}")]
    [TestCase("[\"name\"]")]
    [TestCase("not json")]
    public async Task CreateKey_BadBody_400InvalidRequest(string body)
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.PostJsonAsync("/admin/api/keys", body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await ApiJson.ErrorAsync(response)).GetProperty("code").GetString(), Is.EqualTo("invalid_request"));
        Assert.That(await app.Store.ListAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task CreateKey_NameOf100And101Characters_OnlyTheFirstAccepted()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var longest = await admin.PostJsonAsync("/admin/api/keys", $"{{\"name\":\"{new string('n', 100)}\"}}");
        using var tooLong = await admin.PostJsonAsync("/admin/api/keys", $"{{\"name\":\"{new string('n', 101)}\"}}");

        Assert.That(longest.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(tooLong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await ApiJson.ErrorAsync(tooLong)).GetProperty("param").GetString(), Is.EqualTo("name"));
    }

    [Test]
    public async Task RevokeKey_Active_204ThenUnknown404()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();
        var created = await ApiJson.ReadAsync(await admin.PostJsonAsync("/admin/api/keys", "{\"name\":\"temp\"}"));
        var id = created.GetProperty("id").GetInt64();

        using var revoked = await admin.Http.DeleteAsync($"/admin/api/keys/{id}");
        using var again = await admin.Http.DeleteAsync($"/admin/api/keys/{id}");
        using var unknown = await admin.Http.DeleteAsync("/admin/api/keys/999");
        using var notANumber = await admin.Http.DeleteAsync("/admin/api/keys/abc");

        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(await app.Store.FindActiveAsync(ClientKeyHash.Of(created.GetProperty("key").GetString()!), CancellationToken.None), Is.Null);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(notANumber.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await ApiJson.ErrorAsync(again)).GetProperty("code").GetString(), Is.EqualTo("not_found"));
        var list = await ApiJson.ReadAsync(await admin.GetAsync("/admin/api/keys"));
        Assert.That(list.GetProperty("data")[0].GetProperty("active").GetBoolean(), Is.False);
        Assert.That(list.GetProperty("data")[0].GetProperty("revoked_at").GetString(), Does.EndWith("Z"));
    }

    [Test]
    public async Task Api_AuditLogOff_503AuditLogOff()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:TransactionLog:Provider"] = "None", ["Luthien:TransactionLog:ConnectionString"] = null });
        using var admin = await app.CreateClient().LoggedInAsync();

        foreach (var response in new[]
        {
            await admin.GetAsync("/admin/api/transactions"),
            await admin.GetAsync("/admin/api/transactions/ltx-1"),
            await admin.GetAsync("/admin/api/keys"),
            await admin.PostJsonAsync("/admin/api/keys", "{\"name\":\"x\"}"),
            await admin.Http.DeleteAsync("/admin/api/keys/1"),
        })
        {
            using (response)
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
                var error = await ApiJson.ErrorAsync(response);
                Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("audit_log_off"));
                Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("server_error"));
            }
        }
    }

    [Test]
    public async Task Api_UnknownPath_404NotFound()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/api/users");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await ApiJson.ErrorAsync(response)).GetProperty("code").GetString(), Is.EqualTo("not_found"));
    }

    private static string?[] Ids(JsonElement list) =>
        list.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("transaction_id").GetString()).ToArray();
}
