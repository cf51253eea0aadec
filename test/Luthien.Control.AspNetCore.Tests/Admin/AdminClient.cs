using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>A browser without script against the admin area: keeps cookies, posts forms, reads the CSRF token off pages.</summary>
internal sealed partial class AdminClient(HttpClient http, CookieContainer cookies) : IDisposable
{
    public HttpClient Http { get; } = http;

    public CookieContainer Cookies { get; } = cookies;

    /// <summary>The session cookie as the client holds it, if any.</summary>
    public Cookie? SessionCookie => Cookies.GetCookies(new Uri(Http.BaseAddress!, "/admin/")).FirstOrDefault(c => c.Name == "luthien_admin");

    public Task<HttpResponseMessage> GetAsync(string path) => Http.GetAsync(path);

    public Task<HttpResponseMessage> PostFormAsync(string path, params (string Name, string Value)[] fields) =>
        Http.PostAsync(path, new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))));

    public Task<HttpResponseMessage> LoginAsync(string user = AdminApp.User, string password = AdminApp.Password) =>
        PostFormAsync("/admin/login", ("username", user), ("password", password));

    /// <summary>Logs in, or fails the test.</summary>
    public async Task<AdminClient> LoggedInAsync()
    {
        using var response = await LoginAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), "the login failed");
        return this;
    }

    /// <summary>The CSRF token on a page the session sees.</summary>
    public async Task<string> CsrfTokenAsync(string page = "/admin/keys")
    {
        var html = await Http.GetStringAsync(page);
        var match = CsrfPattern().Match(html);
        Assert.That(match.Success, Is.True, "no CSRF field on " + page);
        return match.Groups[1].Value;
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public void Dispose() => Http.Dispose();

    [GeneratedRegex("name=\"_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfPattern();
}
