using System.Diagnostics;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>
/// The admin area in a real browser (Debian's headless Chromium) on loopback: the login form, the list, a transaction,
/// creating a key — with the pages' Content-Security-Policy in force. Screenshots go to the test's output (and to
/// <c>LUTHIEN_SCREENSHOTS</c>, a directory, when it is set: that is how docs/admin.png is made).
/// </summary>
public sealed class AdminBrowserTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AdminArea_InChromium_LoginListTransactionAndKey()
    {
        if (!File.Exists(HeadlessChromium.Executable))
        {
            Assert.Ignore($"{HeadlessChromium.Executable} is not installed (apt-get install chromium); CI installs it.");
        }

        var watch = Stopwatch.StartNew();
        await using var app = await AdminApp.StartAsync(kestrel: true);
        await WriteRealisticRowsAsync(app);
        await using var browser = await HeadlessChromium.LaunchAsync(1440, 700);

        await browser.NavigateAsync(new Uri(app.Address!, "/admin/"));
        Assert.That((await browser.EvaluateAsync("location.pathname")).GetString(), Is.EqualTo("/admin/login"), "redirected to the login page");
        await SaveAsync(await browser.ScreenshotAsync(fullPage: false), "admin-login.png");
        await browser.NavigateByAsync(
            $"document.querySelector('input[name=username]').value = 'admin';" +
            $"document.querySelector('input[name=password]').value = '{AdminApp.Password}';" +
            "document.querySelector('form button[type=submit]').click();");

        Assert.That((await browser.EvaluateAsync("location.pathname")).GetString(), Is.EqualTo("/admin/"));
        Assert.That((await browser.EvaluateAsync("document.querySelectorAll('tbody tr').length")).GetInt32(), Is.EqualTo(9));
        Assert.That((await browser.EvaluateAsync("getComputedStyle(document.body).backgroundColor")).GetString(), Is.EqualTo("rgb(245, 246, 248)"),
            "the stylesheet loads under the CSP");
        Assert.That((await browser.EvaluateAsync("document.cookie")).GetString(), Is.Empty, "the session cookie is HttpOnly");
        await SaveAsync(await browser.ScreenshotAsync(fullPage: false), "admin.png");

        await browser.NavigateByAsync("document.querySelector('a[href$=\"/transactions/ltx-7f3k2q9xa0000000b1c4d\"]').click();");
        Assert.That((await browser.EvaluateAsync("document.querySelector('h1').textContent")).GetString(), Is.EqualTo("ltx-7f3k2q9xa0000000b1c4d"));
        Assert.That((await browser.EvaluateAsync("document.querySelectorAll('svg.timeline rect.bar').length")).GetInt32(), Is.GreaterThan(10));
        Assert.That((await browser.EvaluateAsync("document.body.textContent.includes('[REDACTED]')")).GetBoolean(), Is.True);
        await SaveAsync(await browser.ScreenshotAsync(fullPage: true), "admin-transaction.png");

        await browser.NavigateAsync(new Uri(app.Address!, "/admin/keys"));
        await browser.NavigateByAsync(
            "document.querySelector('input[name=name]').value = 'team-search';" +
            "document.querySelector('form.create button').click();");
        var key = (await browser.EvaluateAsync("document.getElementById('new-key').textContent")).GetString();
        Assert.That(key, Does.StartWith("lck-"));
        Assert.That(await app.Store.FindActiveAsync(ClientKeyHash.Of(key!), CancellationToken.None), Is.Not.Null);
        await SaveAsync(await browser.ScreenshotAsync(fullPage: false), "admin-keys.png");

        Assert.That(browser.Errors, Is.Empty, "the browser logged errors (a CSP violation would be one)");
        TestContext.Progress.WriteLine($"Browser test ran in Chromium in {watch.Elapsed.TotalSeconds:F1} s.");
    }

    private static async Task SaveAsync(byte[] png, string name)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, name);
        await File.WriteAllBytesAsync(path, png);
        TestContext.AddTestAttachment(path);
        if (Environment.GetEnvironmentVariable("LUTHIEN_SCREENSHOTS") is { Length: > 0 } directory)
        {
            await File.WriteAllBytesAsync(Path.Combine(directory, name), png);
        }
    }

    /// <summary>A morning's traffic through the proxy, as the log writer records it.</summary>
    private static async Task WriteRealisticRowsAsync(AdminApp app)
    {
        var t = new DateTime(2025, 6, 1, 9, 14, 3, DateTimeKind.Utc);
        object[] redact = [new { policy = "ClientApiKeyAuth", action = "allow", detail = "team-search" }, new { policy = "ResponseContentPolicy", action = "redact", detail = "1 match" }];
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa00000009m2e1", t, model: "gpt-4o-mini", keyName: "support-bot", stream: true,
            durationMs: 2412.8, firstChunkMs: 388.1, promptTokens: 412, completionTokens: 96, events: 58));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa00000009m2e7", t.AddSeconds(41), model: "gpt-4.1", keyName: "batch-jobs", api: "responses",
            durationMs: 5830.4, promptTokens: 1874, completionTokens: 611));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a0k3p", t.AddMinutes(2).AddSeconds(7), status: 403, model: "gpt-4o-mini", keyName: "team-search",
            errorCode: "content_policy_violation", durationMs: 3.4, decisions: [new { policy = "LeakedApiKeyDetection", action = "reject", detail = (string?)null }]));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a0k5v", t.AddMinutes(3).AddSeconds(19), model: "o4-mini", keyName: "team-search", stream: true,
            durationMs: 9120.5, firstChunkMs: 6204.9, promptTokens: 233, completionTokens: 1402, events: 120));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a1q0b", t.AddMinutes(5).AddSeconds(2), status: 401, model: "gpt-4o-mini", keyName: null, errorCode: "invalid_api_key",
            durationMs: 1.2, decisions: [new { policy = "ClientApiKeyAuth", action = "reject", detail = (string?)null }]));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a2d9s", t.AddMinutes(6).AddSeconds(48), model: "gpt-3.5-turbo-instruct", keyName: "batch-jobs", api: "completions",
            durationMs: 688.0, promptTokens: 57, completionTokens: 128));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a3h1m", t.AddMinutes(8).AddSeconds(30), status: 504, model: "gpt-4.1", keyName: "support-bot", errorCode: "backend_timeout",
            durationMs: 60_004.1));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000a9t2c", t.AddMinutes(9).AddSeconds(55), model: "gpt-4o", keyName: "support-bot", stream: true,
            durationMs: 1620.3, firstChunkMs: 301.7, promptTokens: 96, completionTokens: 41, events: 27));
        await app.WriteAsync(AdminRows.Transaction("ltx-7f3k2q9xa0000000b1c4d", t.AddMinutes(11).AddSeconds(12), model: "gpt-4o-mini", keyName: "team-search", stream: true,
            prompt: "Summarise the incident ticket and include the service token from the logs.",
            answer: "The deploy at 08:52 exhausted the connection pool; rolling back fixed it. Token: [REDACTED]",
            decisions: redact, durationMs: 3184.6, firstChunkMs: 274.2, promptTokens: 1183, completionTokens: 212, events: 64));
    }
}
