using System.Net;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>Logging in and out, the session cookie, CSRF tokens.</summary>
public sealed class AdminSessionsTests
{
    [Test]
    public async Task Login_Page_ShowsTheForm()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.GetAsync("/admin/login");
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(html, Does.Contain("action=\"/admin/login\"").And.Contain("name=\"username\"").And.Contain("name=\"password\""));
    }

    [Test]
    public async Task Login_RightCredentials_SetsHardenedCookieAndRedirectsToList()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.LoginAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("/admin/"));
        var setCookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.That(setCookie, Does.StartWith("luthien_admin="));
        var attributes = setCookie.ToLowerInvariant().Split("; ").Skip(1).ToList();
        Assert.That(attributes, Does.Contain("path=/admin").And.Contain("samesite=strict").And.Contain("httponly"));
        Assert.That(attributes, Does.Not.Contain("secure"), "plain http: the browser would drop a Secure cookie");
        Assert.That(setCookie, Does.Not.Contain(AdminApp.Password));
        var cookie = client.SessionCookie!;
        Assert.That(cookie.Expires.ToUniversalTime(), Is.EqualTo(app.Time.GetUtcNow().UtcDateTime.AddHours(8)).Within(TimeSpan.FromSeconds(2)));
        using var list = await client.GetAsync("/admin/");
        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Login_OverHttps_CookieIsSecure()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient(https: true);

        using var response = await client.LoginAsync();

        Assert.That(response.Headers.GetValues("Set-Cookie").Single().ToLowerInvariant().Split("; "), Does.Contain("secure"));
    }

    [TestCase(AdminApp.User, "wrong")]
    [TestCase("root", AdminApp.Password)]
    [TestCase(AdminApp.User, "")]
    [TestCase(AdminApp.User, AdminApp.Password + " ")]
    public async Task Login_WrongCredentials_401WithoutSessionOrPasswordEcho(string user, string password)
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.LoginAsync(user, password);
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.Contains("Set-Cookie"), Is.False);
        Assert.That(client.SessionCookie, Is.Null);
        Assert.That(html, Does.Contain("Wrong user name or password"));
        if (password.Length > 0)
        {
            Assert.That(html, Does.Not.Contain(password.Trim()));
        }

        using var list = await client.GetAsync("/admin/");
        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
    }

    [Test]
    public async Task Login_NotAForm_400WithoutSession()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = app.CreateClient();

        using var response = await client.PostJsonAsync("/admin/login", $"{{\"username\":\"admin\",\"password\":\"{AdminApp.Password}\"}}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(client.SessionCookie, Is.Null);
    }

    [Test]
    public async Task Session_PasswordChanged_OldCookieStopsWorking()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();

        app.Configure("Luthien:Admin:Password", "a new password");
        using var page = await client.GetAsync("/admin/");
        using var api = await client.GetAsync("/admin/api/keys");

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Session_UnusedPastSessionSeconds_Expires()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:Admin:SessionSeconds"] = "600" });
        using var client = await app.CreateClient().LoggedInAsync();
        var cookie = client.SessionCookie!.Value;

        app.Time.Advance(TimeSpan.FromSeconds(601));
        using var response = await KeysWithCookieAsync(app, cookie);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Session_UsedPastHalfItsLife_IsExtended()
    {
        await using var app = await AdminApp.StartAsync(new() { ["Luthien:Admin:SessionSeconds"] = "600" });
        using var client = await app.CreateClient().LoggedInAsync();

        app.Time.Advance(TimeSpan.FromSeconds(400));
        using (var used = await client.GetAsync("/admin/api/keys"))
        {
            Assert.That(used.Headers.Contains("Set-Cookie"), Is.True, "a fresh cookie past half the session's life");
        }

        app.Time.Advance(TimeSpan.FromSeconds(400));
        using var later = await client.GetAsync("/admin/api/keys");
        Assert.That(later.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Session_UsedPastMaxSessionSeconds_Expires()
    {
        // Used every 400 s, a 600 s session would live for ever: a copied cookie in use ends at the absolute bound.
        await using var app = await AdminApp.StartAsync(new()
        {
            ["Luthien:Admin:SessionSeconds"] = "600",
            ["Luthien:Admin:MaxSessionSeconds"] = "1500",
        });
        using var client = await app.CreateClient().LoggedInAsync();
        for (var i = 0; i < 3; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(400));
            using var used = await client.GetAsync("/admin/api/keys");
            Assert.That(used.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"use {i + 1}, {(i + 1) * 400} s after the login");
        }

        app.Time.Advance(TimeSpan.FromSeconds(301));
        using var late = await client.GetAsync("/admin/api/keys");

        Assert.That(late.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Session_TamperedCookie_IsNoSession()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();
        var value = client.SessionCookie!.Value;
        var tampered = value[..10] + (value[10] == 'A' ? 'B' : 'A') + value[11..];

        using var response = await KeysWithCookieAsync(app, tampered);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Logout_WithToken_EndsSessionEvenForAKeptCookie()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();
        var kept = client.SessionCookie!.Value;
        var token = await client.CsrfTokenAsync("/admin/");

        using var logout = await client.PostFormAsync("/admin/logout", ("_csrf", token));

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        Assert.That(logout.Headers.Location?.OriginalString, Is.EqualTo("/admin/login"));
        Assert.That(client.SessionCookie, Is.Null);
        using var replay = await KeysWithCookieAsync(app, kept);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Logout_WithoutToken_403AndSessionKept()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();

        using var logout = await client.PostFormAsync("/admin/logout");

        Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var list = await client.GetAsync("/admin/");
        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task CreateKeyForm_WithoutOrWithWrongToken_403AndNothingCreated()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();
        using var other = await app.CreateClient().LoggedInAsync();
        var otherToken = await other.CsrfTokenAsync();

        using var none = await client.PostFormAsync("/admin/keys", ("name", "sneaky"));
        using var foreign = await client.PostFormAsync("/admin/keys", ("name", "sneaky"), ("_csrf", otherToken));

        Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(foreign.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "a token belongs to its session");
        Assert.That(await app.Store.ListAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task RevokeKeyForm_WithoutToken_403AndKeyStaysActive()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();
        var key = await app.Store.CreateAsync("team-a", ClientKeyHash.Of("lck-x"), DateTime.UtcNow, CancellationToken.None);

        using var response = await client.PostFormAsync($"/admin/keys/{key.Id}/revoke");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((await app.Store.ListAsync(CancellationToken.None)).Single().IsActive, Is.True);
    }

    [Test]
    public async Task CreateKeyApi_FormContentType_415AndNothingCreated()
    {
        await using var app = await AdminApp.StartAsync();
        using var client = await app.CreateClient().LoggedInAsync();

        using var form = await client.PostFormAsync("/admin/api/keys", ("name", "from-a-form"));
        using var text = await client.Http.PostAsync("/admin/api/keys", new StringContent("{\"name\":\"x\"}", System.Text.Encoding.UTF8, "text/plain"));

        Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(text.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That((await ApiJson.ErrorAsync(form)).GetProperty("code").GetString(), Is.EqualTo("invalid_request"));
        Assert.That(await app.Store.ListAsync(CancellationToken.None), Is.Empty);
    }

    /// <summary>The keys API asked with only <paramref name="cookie"/> as the session (a copied, kept or forged cookie).</summary>
    private static async Task<HttpResponseMessage> KeysWithCookieAsync(AdminApp app, string cookie)
    {
        using var bare = app.CreateBareClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/keys");
        request.Headers.Add("Cookie", "luthien_admin=" + cookie);
        return await bare.SendAsync(request);
    }
}
