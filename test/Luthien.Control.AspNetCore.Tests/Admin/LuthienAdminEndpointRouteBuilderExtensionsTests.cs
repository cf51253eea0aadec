using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>The admin area as mapped: on only with a password, every response hardened, sessions required.</summary>
public sealed class LuthienAdminEndpointRouteBuilderExtensionsTests
{
    private static readonly string[] AreaPaths =
        ["/admin", "/admin/", "/admin/login", "/admin/admin.css", "/admin/keys", "/admin/transactions/ltx-1", "/admin/api/transactions", "/admin/api/keys", "/admin/nope"];

    [Test]
    public async Task MapLuthienAdmin_NoPassword_EveryPathIs404WithNothingElse()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:Admin:Password"] = null });
        using var client = app.CreateBareClient();

        foreach (var path in AreaPaths)
        {
            using var response = await client.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), path);
            Assert.That(await response.Content.ReadAsStringAsync(), Is.Empty, path);
            Assert.That(response.Headers.Contains("Content-Security-Policy"), Is.False, path + ": no admin code should run");
        }

        using var login = await client.PostAsync("/admin/login", new FormUrlEncodedContent([new("username", "admin"), new("password", "")]));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(login.Headers.Contains("Set-Cookie"), Is.False);
    }

    [Test]
    public async Task MapLuthienAdmin_PasswordSetWhileRunning_AreaTurnsOnAndOff()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:Admin:Password"] = null });
        using var client = app.CreateBareClient();

        app.Configure("Luthien:Admin:Password", "now-set");
        using (var on = await client.GetAsync("/admin/login"))
        {
            Assert.That(on.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        app.Configure("Luthien:Admin:Password", string.Empty);
        using var off = await client.GetAsync("/admin/login");
        Assert.That(off.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task MapLuthienAdmin_NoSession_PagesRedirectToLoginAndApiIs401()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateBareClient();

        foreach (var path in new[] { "/admin", "/admin/keys", "/admin/transactions/ltx-1", "/admin/nope" })
        {
            using var response = await client.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), path);
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("/admin/login"), path);
        }

        foreach (var path in new[] { "/admin/api/transactions", "/admin/api/transactions/ltx-1", "/admin/api/keys", "/admin/api/nope", "/admin/api" })
        {
            using var response = await client.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), path);
            var error = await ApiJson.ErrorAsync(response);
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("unauthorized"), path);
            Assert.That(error.GetProperty("type").GetString(), Is.EqualTo("authentication_error"), path);
        }

        using var create = await client.PostAsync("/admin/api/keys", new StringContent("{\"name\":\"x\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.That(create.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await app.Store.ListAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task MapLuthienAdmin_AnyResponse_CarriesSecurityHeaders()
    {
        await using var app = await AdminApp.StartAsync();
        using var bare = app.CreateBareClient();
        using var admin = await app.CreateClient().LoggedInAsync();

        var responses = new List<(string, HttpResponseMessage)>
        {
            ("login page", await bare.GetAsync("/admin/login")),
            ("stylesheet", await bare.GetAsync("/admin/admin.css")),
            ("redirect", await bare.GetAsync("/admin")),
            ("api 401", await bare.GetAsync("/admin/api/keys")),
            ("failed login", await bare.PostAsync("/admin/login", new FormUrlEncodedContent([new("username", "admin"), new("password", "wrong")]))),
            ("list", await admin.GetAsync("/admin")),
            ("keys", await admin.GetAsync("/admin/keys")),
            ("api", await admin.GetAsync("/admin/api/transactions")),
            ("not found", await admin.GetAsync("/admin/nope")),
        };

        foreach (var (name, response) in responses)
        {
            using (response)
            {
                Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Is.EqualTo(
                    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"), name);
                Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"), name);
                Assert.That(response.Headers.GetValues("Referrer-Policy").Single(), Is.EqualTo("no-referrer"), name);
                Assert.That(response.Headers.CacheControl?.NoStore, Is.True, name);
            }
        }
    }

    [Test]
    public async Task MapLuthienAdmin_Stylesheet_ServedAsCssWithoutSession()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateBareClient();

        using var response = await client.GetAsync("/admin/admin.css");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/css"));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain(".panel"));
    }

    [Test]
    public async Task MapLuthienAdmin_Pages_HaveNoScript()
    {
        await using var app = await AdminApp.StartAsync();
        await app.WriteAsync(AdminRows.Transaction("ltx-script", AdminRows.Start, stream: true));
        using var admin = await app.CreateClient().LoggedInAsync();
        using var bare = app.CreateBareClient();

        foreach (var path in new[] { "/admin/login", "/admin", "/admin/transactions/ltx-script", "/admin/keys" })
        {
            var html = await (path == "/admin/login" ? bare : admin.Http).GetStringAsync(path);
            Assert.That(html, Does.Not.Contain("<script").IgnoreCase, path);
            Assert.That(html, Does.Not.Contain(" style=").IgnoreCase, path + ": inline styles are refused by the CSP");
        }
    }

    [TestCase("")]
    [TestCase("/")]
    [TestCase("/ad min")]
    [TestCase("/{x}")]
    [TestCase("/a//b")]
    public void MapLuthienAdmin_BadPrefix_Throws(string prefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddLuthienControl(_ => { });
        using var app = builder.Build();

        Assert.That(() => app.MapLuthienAdmin(prefix), Throws.ArgumentException);
    }

    [Test]
    public void MapLuthienAdmin_WithoutAddLuthienControl_ThrowsNamingIt()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        using var app = builder.Build();

        Assert.That(() => app.MapLuthienAdmin(), Throws.InvalidOperationException.With.Message.Contains("AddLuthienControl"));
    }
}
