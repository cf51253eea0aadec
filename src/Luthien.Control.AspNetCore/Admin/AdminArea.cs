using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Luthien.Control.AspNetCore;

/// <summary>Who may reach an admin route.</summary>
internal enum AdminAccess
{
    /// <summary>Anyone, while the area is on: the login page and the stylesheet.</summary>
    Public,

    /// <summary>A signed-in admin; others are sent to the login page.</summary>
    Page,

    /// <summary>A signed-in admin; others get 401 JSON.</summary>
    Api,
}

/// <summary>One admin request: the exchange, the login configured now, the session (if the route needs one) and the area's path.</summary>
/// <param name="Context">The exchange.</param>
/// <param name="Options">The admin login, as configured for this request.</param>
/// <param name="Session">The session; <see langword="null"/> on public routes.</param>
/// <param name="Base">The area's path from the site's root (path base and prefix), for links and the cookie.</param>
internal sealed record AdminRequest(HttpContext Context, AdminOptions Options, AdminSession? Session, string Base)
{
    /// <summary>The session, on a route that requires one.</summary>
    public AdminSession RequiredSession => Session ?? throw new InvalidOperationException("This admin route requires a session.");

    /// <summary>The request's cancellation.</summary>
    public CancellationToken Aborted => Context.RequestAborted;
}

/// <summary>
/// The admin area mapped at one prefix: the gate every route passes (off without a password, security headers, the
/// session), the login, and shared writing of pages and JSON errors. Its pages and JSON API are in the other parts.
/// </summary>
internal sealed partial class AdminArea
{
    /// <summary>The Content-Security-Policy of every admin response: the area's own stylesheet, no script, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>The largest form or JSON body the area reads.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    private readonly IServiceProvider _services;
    private readonly string _prefix;
    private readonly IOptionsMonitor<LuthienOptions> _options;
    private Parts? _parts;

    /// <summary>Creates the area.</summary>
    /// <param name="services">The app's root services.</param>
    /// <param name="prefix">The area's path, normalised (<c>/admin</c>).</param>
    public AdminArea(IServiceProvider services, string prefix)
    {
        _services = services;
        _prefix = prefix;
        _options = services.GetRequiredService<IOptionsMonitor<LuthienOptions>>();
    }

    /// <summary>The area's services, taken once on first use (after the password check: an area that is off builds nothing).</summary>
    private Parts Services => _parts ??= new Parts(
        _services.GetRequiredService<ControlStores>(),
        _services.GetRequiredService<AdminSessions>(),
        _services.GetRequiredService<AdminLoginThrottle>(),
        _services.GetRequiredService<TimeProvider>(),
        _services.GetRequiredService<ILoggerFactory>().CreateLogger("Luthien.Control.AspNetCore.Admin"));

    /// <summary>The store, or <see langword="null"/> when the audit log is off.</summary>
    private IControlStore? Store => Services.Stores.Store;

    /// <summary>
    /// Wraps a route: 404 and nothing more while no password is configured; otherwise the security headers, the session
    /// check (401 JSON for the API, a redirect to the login page for pages), and a failure of the store turned into 503.
    /// </summary>
    /// <param name="handler">The route's work.</param>
    /// <param name="access">Who may reach it.</param>
    public RequestDelegate Gate(Func<AdminRequest, Task> handler, AdminAccess access) => async context =>
    {
        var options = _options.CurrentValue.Admin;
        if (string.IsNullOrEmpty(options.Password))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        SetSecurityHeaders(context.Response);
        var basePath = context.Request.PathBase.Add(new PathString(_prefix)).Value ?? _prefix;
        AdminSession? session = null;
        if (access != AdminAccess.Public)
        {
            session = Services.Sessions.Read(context, basePath, options);
            if (session is null)
            {
                if (access == AdminAccess.Api)
                {
                    await WriteApiErrorAsync(context, StatusCodes.Status401Unauthorized, "unauthorized",
                        $"Log in first: POST {basePath}/login with the form fields username and password, then send the session cookie.", null).ConfigureAwait(false);
                }
                else
                {
                    context.Response.Redirect(basePath + "/login");
                }

                return;
            }
        }

        var request = new AdminRequest(context, options, session, basePath);
        try
        {
            await handler(request).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            // Mostly the database being away; its message may name hosts or files, so the client gets none of it.
            LogFailed(Services.Logger, context.Request.Path, ex);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }

            context.Response.Clear();
            SetSecurityHeaders(context.Response);
            var storeDown = ex is DbException || ex.InnerException is DbException;
            if (access == AdminAccess.Api)
            {
                await (storeDown
                    ? WriteApiErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "store_unavailable", "The audit log's database could not be read or written; try again later.", null)
                    : WriteApiErrorAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.ServerError, "The admin area failed; the server log has the details.", null)).ConfigureAwait(false);
            }
            else
            {
                await (storeDown
                    ? WritePageAsync(request, StatusCodes.Status503ServiceUnavailable, "Unavailable", null, Notice(
                        "error", "The audit log's database is not reachable.", "The page could not be read from it; try again in a moment. The server log has the details."))
                    : WritePageAsync(request, StatusCodes.Status500InternalServerError, "Error", null, Notice(
                        "error", "The admin area failed.", "The server log has the details."))).ConfigureAwait(false);
            }
        }
    };

    /// <summary>GET <c>{prefix}/admin.css</c>.</summary>
    public static async Task StylesheetAsync(AdminRequest request)
    {
        request.Context.Response.ContentType = "text/css; charset=utf-8";
        await request.Context.Response.WriteAsync(AdminStyles.Css, request.Aborted).ConfigureAwait(false);
    }

    /// <summary>GET <c>{prefix}/login</c>: the form, or the list when already signed in.</summary>
    public Task LoginPageAsync(AdminRequest request)
    {
        if (Services.Sessions.Read(request.Context, request.Base, request.Options) is not null)
        {
            request.Context.Response.Redirect(request.Base + "/");
            return Task.CompletedTask;
        }

        return WriteLoginAsync(request, StatusCodes.Status200OK, null, null);
    }

    /// <summary>
    /// POST <c>{prefix}/login</c>: while the address is locked out, 429 without checking anything; otherwise the attempt
    /// is counted as a failure first; a wrong login, 401; the right one, the failures forgotten, a session cookie and a
    /// redirect to the list.
    /// </summary>
    public async Task LoginAsync(AdminRequest request)
    {
        var context = request.Context;
        var address = context.Connection.RemoteIpAddress;
        // Counted before anything is read: a burst of requests cannot all pass the check before the first is counted.
        if (!Services.Throttle.TryBegin(address, out var wait, out var lockout))
        {
            context.Response.Headers.RetryAfter = Seconds(wait);
            await WriteLoginAsync(request, StatusCodes.Status429TooManyRequests, null,
                $"Too many failed logins from your address. Try again in {Seconds(wait)} s.").ConfigureAwait(false);
            return;
        }

        var form = await ReadFormAsync(context).ConfigureAwait(false);
        if (form is null)
        {
            await WriteLoginAsync(request, StatusCodes.Status400BadRequest, null, "Send the login form (username, password).").ConfigureAwait(false);
            return;
        }

        var username = form.TryGetValue("username", out var u) ? u.ToString() : null;
        var password = form.TryGetValue("password", out var p) ? p.ToString() : null;
        if (!AdminSessions.CheckCredentials(request.Options, username, password))
        {
            LogLoginFailed(Services.Logger, address);
            await WriteLoginAsync(request, StatusCodes.Status401Unauthorized, username, lockout > TimeSpan.Zero
                ? $"Wrong user name or password. Wait {Seconds(lockout)} s before trying again."
                : "Wrong user name or password.").ConfigureAwait(false);
            return;
        }

        Services.Throttle.Succeed(address);
        var session = Services.Sessions.SignIn(context, request.Base, request.Options);
        LogLoggedIn(Services.Logger, session.User, address);
        SeeOther(context, request.Base + "/");
    }

    /// <summary>POST <c>{prefix}/logout</c> (with the session's token): ends the session.</summary>
    public async Task LogoutAsync(AdminRequest request)
    {
        var form = await ReadFormAsync(request.Context).ConfigureAwait(false);
        if (!await CheckCsrfAsync(request, form).ConfigureAwait(false))
        {
            return;
        }

        Services.Sessions.SignOut(request.Context, request.Base, request.RequiredSession, request.Options);
        SeeOther(request.Context, request.Base + "/login");
    }

    /// <summary>Any other path under the prefix, signed in.</summary>
    public static Task PageNotFoundAsync(AdminRequest request) =>
        WritePageAsync(request, StatusCodes.Status404NotFound, "Not found", null, Notice("error", "There is no such page.", null));

    /// <summary>Any other path under <c>{prefix}/api/</c>, signed in.</summary>
    public static Task ApiNotFoundAsync(AdminRequest request) =>
        WriteApiErrorAsync(request.Context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
            "The admin API serves GET transactions, GET transactions/{transaction_id}, GET keys, POST keys and DELETE keys/{id}.", null);

    /// <summary>Sets the headers every admin response carries.</summary>
    private static void SetSecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers.CacheControl = "no-store";
    }

    /// <summary>
    /// Checks a form's CSRF token against the session's; a form without the right one gets 403 and is not acted on.
    /// </summary>
    private static async Task<bool> CheckCsrfAsync(AdminRequest request, Dictionary<string, StringValues>? form)
    {
        var token = form is not null && form.TryGetValue(AdminSessions.CsrfField, out var value) ? value.ToString() : null;
        if (AdminSessions.CheckCsrf(request.RequiredSession, token))
        {
            return true;
        }

        await WritePageAsync(request, StatusCodes.Status403Forbidden, "Form expired", null, Notice(
            "error", "This form did not come from your session.", "Nothing was changed. Reload the page and try again.")).ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// Reads a URL-encoded form of at most <see cref="MaxBodyBytes"/>; <see langword="null"/> when the body is something
    /// else, too large, or not a well-formed form.
    /// </summary>
    private static async Task<Dictionary<string, StringValues>?> ReadFormAsync(HttpContext context)
    {
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) ||
            !type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return null;
        }

        try
        {
            using var reader = new FormReader(Encoding.UTF8.GetString(body))
            {
                ValueCountLimit = 32,
                KeyLengthLimit = 64,
                ValueLengthLimit = MaxBodyBytes,
            };
            return reader.ReadForm();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Reads the body if it is at most <see cref="MaxBodyBytes"/>; <see langword="null"/> past it.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        var buffer = new byte[MaxBodyBytes + 1];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
            if (read == 0)
            {
                return buffer[..length];
            }

            length += read;
        }

        return null;
    }

    /// <summary>Answers 303 See Other: after a form, the browser fetches the next page with GET.</summary>
    private static void SeeOther(HttpContext context, string location)
    {
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = location;
    }

    /// <summary>Writes an OpenAI-style error: <c>{"error":{"message","type","param","code"}}</c>.</summary>
    private static async Task WriteApiErrorAsync(HttpContext context, int status, string code, string message, string? param)
    {
        context.Response.StatusCode = status;
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteString("message", message);
            writer.WriteString("type", ControlException.TypeForStatus(status));
            if (param is null)
            {
                writer.WriteNull("param");
            }
            else
            {
                writer.WriteString("param", param);
            }

            writer.WriteString("code", code);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Writes a JSON body.</summary>
    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        context.Response.ContentType = ContentTypes.Json;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    private static string Seconds(TimeSpan span) => Math.Ceiling(span.TotalSeconds).ToString(CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Error, Message = "Admin area: {Path} failed.")]
    private static partial void LogFailed(ILogger logger, PathString path, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin area: failed login from {Address}.")]
    private static partial void LogLoginFailed(ILogger logger, System.Net.IPAddress? address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin area: {User} logged in from {Address}.")]
    private static partial void LogLoggedIn(ILogger logger, string user, System.Net.IPAddress? address);

    /// <summary>The services the area uses.</summary>
    private sealed record Parts(ControlStores Stores, AdminSessions Sessions, AdminLoginThrottle Throttle, TimeProvider Time, ILogger Logger);
}
