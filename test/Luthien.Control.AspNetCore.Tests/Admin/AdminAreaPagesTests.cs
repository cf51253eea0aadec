using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>The transaction list, a transaction's page and the keys page, as HTML.</summary>
public sealed partial class AdminAreaPagesTests
{
    private const string Xss = "<script>alert('x')</script><img src=x onerror=alert(1)>\"'&";

    [Test]
    public async Task TransactionsPage_Rows_NewestFirstWithColumns()
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-old", AdminRows.Start, model: "gpt-4o"));
        await app.WriteAsync(AdminRows.Transaction("ltx-new", AdminRows.Start.AddMinutes(5), status: 403, errorCode: "content_policy_violation", keyName: "team-b", stream: true));
        using var admin = await app.CreateClient().LoggedInAsync();

        var html = await admin.Http.GetStringAsync("/admin/");

        Assert.That(html.IndexOf("ltx-new", StringComparison.Ordinal), Is.LessThan(html.IndexOf("ltx-old", StringComparison.Ordinal)));
        Assert.That(html, Does.Contain("href=\"/admin/transactions/ltx-new\""));
        Assert.That(html, Does.Contain("2025-06-01 09:05:00"));
        Assert.That(html, Does.Contain("content_policy_violation").And.Contain("team-b").And.Contain("st st-warn"));
        Assert.That(html, Does.Contain("1.83 s").And.Contain("232 ms").And.Contain("413 ms"));
        Assert.That(html, Does.Contain("<span title=\"14 prompt → 8 completion\">22</span>"));
    }

    [TestCase("status=403", "ltx-2")]
    [TestCase("model=gpt-4o", "ltx-1")]
    [TestCase("key_name=team-b", "ltx-3")]
    [TestCase("from=2025-06-01T09:10&to=2025-06-01T09:20", "ltx-3")]
    [TestCase("from=2025-06-01T09:10:00Z&to=2025-06-01T09:20:00Z", "ltx-3")]
    public async Task TransactionsPage_Filter_ShowsOnlyMatches(string filter, string expected)
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-1", AdminRows.Start, model: "gpt-4o"));
        await app.WriteAsync(AdminRows.Transaction("ltx-2", AdminRows.Start.AddMinutes(5), status: 403, errorCode: "content_policy_violation"));
        await app.WriteAsync(AdminRows.Transaction("ltx-3", AdminRows.Start.AddMinutes(15), keyName: "team-b"));
        await app.WriteAsync(AdminRows.Transaction("ltx-4", AdminRows.Start.AddMinutes(25)));
        using var admin = await app.CreateClient().LoggedInAsync();

        var html = await admin.Http.GetStringAsync("/admin/?" + filter);

        Assert.That(TransactionLinks(html), Is.EqualTo(new[] { expected }));
    }

    [Test]
    public async Task TransactionsPage_BadFilter_400WithMessageAndValueKept()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/?status=abc");
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(html, Does.Contain("status must be an HTTP status code").And.Contain("value=\"abc\""));
    }

    [Test]
    public async Task TransactionsPage_MoreThanAPage_OlderLinkPagesByBeforeId()
    {
        await using var app = await AdminApp.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await app.WriteAsync(AdminRows.Transaction($"ltx-{i}", AdminRows.Start.AddMinutes(i)));
        }

        using var admin = await app.CreateClient().LoggedInAsync();

        var first = await admin.Http.GetStringAsync("/admin/?limit=2");
        var older = OlderLink().Match(first).Groups[1].Value.Replace("&amp;", "&", StringComparison.Ordinal);
        var second = await admin.Http.GetStringAsync(older);
        var third = await admin.Http.GetStringAsync(OlderLink().Match(second).Groups[1].Value.Replace("&amp;", "&", StringComparison.Ordinal));

        Assert.That(TransactionLinks(first), Is.EqualTo(new[] { "ltx-4", "ltx-3" }));
        Assert.That(older, Does.StartWith("/admin/?limit=2&before_id="));
        Assert.That(TransactionLinks(second), Is.EqualTo(new[] { "ltx-2", "ltx-1" }));
        Assert.That(TransactionLinks(third), Is.EqualTo(new[] { "ltx-0" }));
        Assert.That(OlderLink().IsMatch(third), Is.False);
    }

    [Test]
    public async Task TransactionPage_StreamedTransaction_ShowsEverySection()
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-detail", AdminRows.Start, stream: true,
            decisions: [new { policy = "ResponseContentPolicy", action = "redact", detail = "2 matches" }]));
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/transactions/ltx-detail");
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(html, Does.Contain("ResponseContentPolicy").And.Contain("redact").And.Contain("2 matches"));
        Assert.That(html, Does.Contain("Stream timeline").And.Contain("<svg class=\"timeline\""));
        Assert.That(Regex.Count(html, "<rect class=\"bar\""), Is.EqualTo(24));
        Assert.That(html, Does.Contain("What is the capital of France?"), "request body");
        Assert.That(html, Does.Contain("The capital of France is Paris."), "assembled answer");
        Assert.That(html, Does.Contain("OpenAI/NodeJS/4.77.0"), "request headers");
        Assert.That(html, Does.Contain("<span class=\"jk\">&quot;messages&quot;</span>: ["), "pretty-printed JSON");
        Assert.That(html, Does.Contain("team-a").And.Contain("1.83 s").And.Contain("232 ms"));
    }

    [Test]
    public async Task TransactionPage_UnknownId_404()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();

        using var response = await admin.GetAsync("/admin/transactions/ltx-missing");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("No transaction has this id"));
    }

    [Test]
    public async Task Pages_AttackerTextInLoggedRows_ShownEscaped()
    {
        await using var app = await AdminApp.StartAsync();
        var rows = AdminRows.Transaction("ltx-xss", AdminRows.Start, model: Xss, keyName: Xss, prompt: Xss, answer: Xss, stream: true,
            decisions: [new { policy = Xss, action = Xss, detail = Xss }]);

        // The log writer escapes nothing it need not: the markup sits in the stored JSON as it was sent.
        rows = rows.Select(r => r with { Data = r.Data!.Replace("\\u003C", "<", StringComparison.Ordinal).Replace("\\u003E", ">", StringComparison.Ordinal).Replace("\\u0026", "&", StringComparison.Ordinal).Replace("\\u0027", "'", StringComparison.Ordinal) }).ToArray();
        Assert.That(rows[0].Data, Does.Contain("<script>"));
        await app.WriteAsync(rows);
        await app.WriteAsync(new TransactionLogRow("ltx-xss", AdminRows.Start, "<b>odd</b>", "<script>x</script>", "<i>note</i>"));
        await app.Store.CreateAsync(Xss, ClientKeyHash.Of("lck-xss"), DateTime.UtcNow, CancellationToken.None);
        using var admin = await app.CreateClient().LoggedInAsync();

        foreach (var path in new[] { "/admin/", "/admin/transactions/ltx-xss", "/admin/keys", "/admin/?model=" + Uri.EscapeDataString(Xss) })
        {
            var html = await admin.Http.GetStringAsync(path);
            Assert.That(html, Does.Not.Contain("<script").IgnoreCase, path);
            Assert.That(html, Does.Not.Contain("<img").IgnoreCase, path);
            Assert.That(html, Does.Not.Contain("<b>odd").IgnoreCase.And.Not.Contain("<i>note"), path);
            Assert.That(html, Does.Contain("&lt;script&gt;"), path);
        }
    }

    [Test]
    public async Task Pages_AuditLogOff_SayItIsOff()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:TransactionLog:Provider"] = "None", ["Luthien:TransactionLog:ConnectionString"] = null });
        using var admin = await app.CreateClient().LoggedInAsync();

        using var list = await admin.GetAsync("/admin/");
        using var keys = await admin.GetAsync("/admin/keys");

        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await list.Content.ReadAsStringAsync(), Does.Contain("The audit log is off"));
        Assert.That(await keys.Content.ReadAsStringAsync(), Does.Contain("Client keys need a store"));
    }

    [Test]
    public async Task Pages_DatabaseAway_503PageWithoutDetails()
    {
        var missing = Path.Combine(Path.GetTempPath(), "luthien-admin-tests", "no-such-dir-" + Guid.NewGuid().ToString("N"), "sub", "x.db");
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:TransactionLog:ConnectionString"] = $"Data Source={missing};Mode=ReadWrite" });
        using var admin = await app.CreateClient().LoggedInAsync();

        using var page = await admin.GetAsync("/admin/");
        using var api = await admin.GetAsync("/admin/api/transactions");
        var html = await page.Content.ReadAsStringAsync();

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(html, Does.Contain("not reachable").And.Not.Contain("no-such-dir"));
        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await ApiJson.ErrorAsync(api)).GetProperty("code").GetString(), Is.EqualTo("store_unavailable"));
    }

    [Test]
    public async Task KeysPage_CreateByForm_KeyShownOnceAndOnlyItsHashStored()
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();
        var token = await admin.CsrfTokenAsync();

        using var created = await admin.PostFormAsync("/admin/keys", ("name", "  team-search  "), ("_csrf", token));
        var html = await created.Content.ReadAsStringAsync();
        var key = Regex.Match(html, "<code id=\"new-key\">(lck-[A-Za-z0-9_-]+)</code>").Groups[1].Value;

        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(key, Has.Length.GreaterThan(40));
        Assert.That(html, Does.Contain("Copy it now: it is not stored"));
        var stored = (await app.Store.ListAsync(CancellationToken.None)).Single();
        Assert.That(stored.Name, Is.EqualTo("team-search"));
        Assert.That(await app.Store.FindActiveAsync(ClientKeyHash.Of(key), CancellationToken.None), Is.Not.Null);
        Assert.That(await admin.Http.GetStringAsync("/admin/keys"), Does.Not.Contain(key).And.Contain("team-search"));
        Assert.That(DatabaseFilesContain(app, key), Is.False, "the key in clear in the database");
        Assert.That(DatabaseFilesContain(app, ClientKeyHash.Of(key)), Is.True, "its hash is what is kept");
    }

    [TestCase("")]
    [TestCase("   ")]
    public async Task KeysPage_CreateWithoutName_400AndNothingCreated(string name)
    {
        await using var app = await AdminApp.StartAsync();
        using var admin = await app.CreateClient().LoggedInAsync();
        var token = await admin.CsrfTokenAsync();

        using var response = await admin.PostFormAsync("/admin/keys", ("name", name), ("_csrf", token));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("name is required"));
        Assert.That(await app.Store.ListAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task KeysPage_RevokeByForm_KeyRevokedAndShownSo()
    {
        await using var app = await AdminApp.StartAsync();
        var key = await app.Store.CreateAsync("team-a", ClientKeyHash.Of("lck-a"), DateTime.UtcNow, CancellationToken.None);
        using var admin = await app.CreateClient().LoggedInAsync();
        var page = await admin.Http.GetStringAsync("/admin/keys");
        Assert.That(page, Does.Contain($"action=\"/admin/keys/{key.Id}/revoke\""));
        var token = await admin.CsrfTokenAsync();

        using var response = await admin.PostFormAsync($"/admin/keys/{key.Id}/revoke", ("_csrf", token));
        using var again = await admin.PostFormAsync($"/admin/keys/{key.Id}/revoke", ("_csrf", token));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo($"/admin/keys?revoked={key.Id}"));
        Assert.That(await app.Store.FindActiveAsync(ClientKeyHash.Of("lck-a"), CancellationToken.None), Is.Null);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var after = await admin.Http.GetStringAsync($"/admin/keys?revoked={key.Id}");
        Assert.That(after, Does.Contain("revoked").And.Not.Contain($"action=\"/admin/keys/{key.Id}/revoke\""));
    }

    private static string[] TransactionLinks(string html) =>
        Regex.Matches(html, "href=\"/admin/transactions/([^\"]+)\"").Select(m => m.Groups[1].Value).ToArray();

    private static bool DatabaseFilesContain(AdminApp app, string text)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var needle = System.Text.Encoding.UTF8.GetBytes(text);
        return Directory.GetFiles(app.Directory, "luthien.db*").Any(file => File.ReadAllBytes(file).AsSpan().IndexOf(needle) >= 0);
    }

    [GeneratedRegex("<a href=\"([^\"]+)\">Older")]
    private static partial Regex OlderLink();
}
