using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>A signed-in admin, as the session cookie says.</summary>
/// <param name="Id">The session's random id (ended by logging out).</param>
/// <param name="User">The user name it was opened with.</param>
/// <param name="Expires">When it ends unless used again.</param>
/// <param name="CsrfToken">The token every state-changing form of this session must carry.</param>
/// <param name="Issued">When the login was made: however much it is used, a session ends <see cref="AdminOptions.MaxSessionSeconds"/> after.</param>
internal sealed record AdminSession(string Id, string User, DateTimeOffset Expires, string CsrfToken, DateTimeOffset Issued);

/// <summary>
/// The admin area's logins: checks credentials in constant time, and keeps the session in a cookie protected by ASP.NET
/// Data Protection (encrypted and signed), so no server state is needed to read it. The cookie holds a fingerprint of the
/// configured user name and password: changing either ends every session opened before. Logging out ends the session
/// on this instance even if its cookie was copied.
/// </summary>
internal sealed class AdminSessions
{
    /// <summary>The session cookie's name.</summary>
    public const string CookieName = "luthien_admin";

    /// <summary>The form field carrying the CSRF token.</summary>
    public const string CsrfField = "_csrf";

    private const int EndedKept = 10_000;

    private readonly IDataProtectionProvider _protection;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, IDataProtector> _protectors = new(StringComparer.Ordinal);

    // Sessions logged out before their expiry, by id; forgotten once they would have expired anyway.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _ended = new(StringComparer.Ordinal);

    /// <summary>Creates the session keeper.</summary>
    public AdminSessions(IDataProtectionProvider protection, TimeProvider time)
    {
        _protection = protection;
        _time = time;
    }

    /// <summary>Whether the user name and password are the configured ones; the time taken does not depend on how much matched.</summary>
    /// <param name="options">The configured login.</param>
    /// <param name="username">The user name given.</param>
    /// <param name="password">The password given.</param>
    public static bool CheckCredentials(AdminOptions options, string? username, string? password)
    {
        if (string.IsNullOrEmpty(options.Password))
        {
            return false;
        }

        // Hashing first makes both sides the same length, so FixedTimeEquals does not reveal a length either.
        var userMatches = CryptographicOperations.FixedTimeEquals(Sha256(username ?? string.Empty), Sha256(options.Username));
        var passwordMatches = CryptographicOperations.FixedTimeEquals(Sha256(password ?? string.Empty), Sha256(options.Password));
        return userMatches & passwordMatches;
    }

    /// <summary>Opens a session: sets its cookie.</summary>
    /// <param name="context">The login request.</param>
    /// <param name="cookiePath">The admin area's path (the cookie's <c>Path</c>).</param>
    /// <param name="options">The configured login.</param>
    public AdminSession SignIn(HttpContext context, string cookiePath, AdminOptions options)
    {
        var now = _time.GetUtcNow();
        var issued = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var session = new AdminSession(NewToken(), options.Username, ExpiresAt(now, issued, options), NewToken(), issued);
        WriteCookie(context, cookiePath, options, session);
        return session;
    }

    /// <summary>
    /// The session the request's cookie holds, or <see langword="null"/> when there is none, it expired, was logged
    /// out, was opened with other credentials than the configured ones, or was opened more than
    /// <see cref="AdminOptions.MaxSessionSeconds"/> ago. A session past half its life gets a fresh cookie, so that it
    /// lasts <see cref="AdminOptions.SessionSeconds"/> from its last use (a stolen cookie in use still ends at the
    /// absolute bound).
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="cookiePath">The admin area's path.</param>
    /// <param name="options">The configured login.</param>
    public AdminSession? Read(HttpContext context, string cookiePath, AdminOptions options)
    {
        if (string.IsNullOrEmpty(options.Password) || !context.Request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie))
        {
            return null;
        }

        string payload;
        try
        {
            payload = Protector(cookiePath).Unprotect(cookie);
        }
        catch (CryptographicException)
        {
            // Forged, damaged, from another area, or sealed with a key this instance does not have.
            return null;
        }

        // v1 cookies (no time of login) are no session: their holders log in again.
        var parts = payload.Split('\n');
        if (parts.Length != 7 || parts[0] != "v2" ||
            !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresSeconds) ||
            !long.TryParse(parts[6], NumberStyles.None, CultureInfo.InvariantCulture, out var issuedSeconds))
        {
            return null;
        }

        var now = _time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds(expiresSeconds);
        var issued = DateTimeOffset.FromUnixTimeSeconds(issuedSeconds);
        if (expires <= now || now >= issued.AddSeconds(options.MaxSessionSeconds) || _ended.ContainsKey(parts[1]) ||
            !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(parts[4]), Encoding.ASCII.GetBytes(Fingerprint(options))) ||
            !string.Equals(parts[2], Encode(options.Username), StringComparison.Ordinal))
        {
            return null;
        }

        var session = new AdminSession(parts[1], options.Username, expires, parts[5], issued);
        var lifetime = TimeSpan.FromSeconds(options.SessionSeconds);
        if (expires - now < lifetime / 2 && ExpiresAt(now, issued, options) > expires)
        {
            session = session with { Expires = ExpiresAt(now, issued, options) };
            WriteCookie(context, cookiePath, options, session);
        }

        return session;
    }

    /// <summary>Ends a session: its cookie is cleared and the session refused from now on, even if the cookie was kept.</summary>
    /// <param name="context">The logout request.</param>
    /// <param name="cookiePath">The admin area's path.</param>
    /// <param name="session">The session.</param>
    /// <param name="options">The configured login (how long any copy of the session's cookie could still be renewed).</param>
    public void SignOut(HttpContext context, string cookiePath, AdminSession session, AdminOptions options)
    {
        var now = _time.GetUtcNow();
        if (_ended.Count >= EndedKept)
        {
            foreach (var (id, expires) in _ended)
            {
                if (expires <= now)
                {
                    _ended.TryRemove(id, out _);
                }
            }
        }

        // Remembered until no copy of the cookie could be valid: a copy renewed after this one was read could run to
        // the absolute bound, later than this cookie's own expiry.
        _ended[session.Id] = session.Issued.AddSeconds(Math.Max(options.MaxSessionSeconds, 60));
        context.Response.Cookies.Delete(CookieName, CookieOptions(context, cookiePath));
    }

    /// <summary>Whether a form's CSRF token is the session's; constant time.</summary>
    /// <param name="session">The session.</param>
    /// <param name="token">The form's token.</param>
    public static bool CheckCsrf(AdminSession session, string? token) =>
        token is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(session.CsrfToken));

    private void WriteCookie(HttpContext context, string cookiePath, AdminOptions options, AdminSession session)
    {
        var payload = string.Join('\n',
            "v2",
            session.Id,
            Encode(session.User),
            session.Expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            Fingerprint(options),
            session.CsrfToken,
            session.Issued.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        var cookieOptions = CookieOptions(context, cookiePath);
        cookieOptions.Expires = session.Expires;
        context.Response.Cookies.Append(CookieName, Protector(cookiePath).Protect(payload), cookieOptions);
    }

    /// <summary>When a session used at <paramref name="now"/> ends unless used again: never past the absolute bound.</summary>
    private static DateTimeOffset ExpiresAt(DateTimeOffset now, DateTimeOffset issued, AdminOptions options)
    {
        var sliding = now.AddSeconds(options.SessionSeconds);
        var absolute = issued.AddSeconds(Math.Max(options.MaxSessionSeconds, 60));
        return sliding < absolute ? sliding : absolute;
    }

    private static CookieOptions CookieOptions(HttpContext context, string cookiePath) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = cookiePath,
        IsEssential = true,
    };

    // One purpose per admin path: a cookie from an area mapped elsewhere (or from anything else using Data Protection) is no session here.
    private IDataProtector Protector(string cookiePath) =>
        _protectors.GetOrAdd(cookiePath, path => _protection.CreateProtector("Luthien.Control.AspNetCore.Admin.Session", path));

    /// <summary>A digest of the configured credentials: a session opened with others (before a password change) no longer matches.</summary>
    private static string Fingerprint(AdminOptions options) =>
        Convert.ToBase64String(Sha256("luthien-admin-session\n" + options.Username + "\n" + options.Password), 0, 18);

    // The user name may hold any character, the payload's separator too.
    private static string Encode(string value) => Convert.ToBase64String(Encoding.UTF8.GetBytes(value));

    private static byte[] Sha256(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}
