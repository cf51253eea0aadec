using Microsoft.AspNetCore.Http;

namespace Luthien.Control.AspNetCore;

/// <summary>The frame of every admin page: the header with navigation and logout, notices, the login page.</summary>
internal sealed partial class AdminArea
{
    /// <summary>Writes a page in the area's frame.</summary>
    /// <param name="request">The request.</param>
    /// <param name="status">The HTTP status.</param>
    /// <param name="title">The page's title.</param>
    /// <param name="section">The navigation entry to mark (<c>transactions</c>, <c>keys</c>), if any.</param>
    /// <param name="body">The page's content.</param>
    private static async Task WritePageAsync(AdminRequest request, int status, string title, string? section, RawHtml body)
    {
        var html = new AdminHtml();
        Head(html, request.Base, title);
        html.Append($"<header class=\"top\"><a class=\"brand\" href=\"{request.Base}/\"><span class=\"mark\"></span>Luthien Control <small>admin</small></a>");
        if (request.Session is { } session)
        {
            html.Append($"<nav><a href=\"{request.Base}/\"{On(section == "transactions")}>Transactions</a><a href=\"{request.Base}/keys\"{On(section == "keys")}>Client keys</a></nav>");
            html.Append($"<form method=\"post\" action=\"{request.Base}/logout\"><span>{session.User}</span>{CsrfInput(session)}<button type=\"submit\">Log out</button></form>");
        }

        html.Append($"</header><main>").Append(body).Append($"</main></body></html>");
        await WriteHtmlAsync(request.Context, status, html.ToString()).ConfigureAwait(false);
    }

    /// <summary>Writes the login page; the user name given is kept in the form, the password never.</summary>
    private static async Task WriteLoginAsync(AdminRequest request, int status, string? username, string? error)
    {
        var html = new AdminHtml();
        Head(html, request.Base, "Log in");
        html.Append($"<div class=\"login\"><div class=\"card\"><div class=\"brand\"><span class=\"mark\"></span>Luthien Control <small>admin</small></div>");
        html.Append($"<h1>Log in</h1>");
        if (error is not null)
        {
            html.Append($"<div class=\"notice error\" role=\"alert\">{error}</div>");
        }

        html.Append($"<form method=\"post\" action=\"{request.Base}/login\">");
        html.Append($"<label>User name<input name=\"username\" autocomplete=\"username\" required value=\"{username ?? string.Empty}\"></label>");
        html.Append($"<label>Password<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required{(username is null ? new RawHtml(string.Empty) : new RawHtml(" autofocus"))}></label>");
        html.Append($"<button type=\"submit\">Log in</button></form>");
        html.Append($"<p class=\"hint\">The login is set by Luthien:Admin:Username and Luthien:Admin:Password.</p></div></div></body></html>");
        await WriteHtmlAsync(request.Context, status, html.ToString()).ConfigureAwait(false);
    }

    /// <summary>A notice: a title and optional text (both encoded).</summary>
    /// <param name="kind"><c>info</c>, <c>error</c> or <c>success</c>.</param>
    /// <param name="title">The notice's first line.</param>
    /// <param name="text">More, if any.</param>
    private static RawHtml Notice(string kind, string title, string? text)
    {
        var html = new AdminHtml().Append($"<div class=\"notice {kind}\"><strong>{title}</strong>");
        if (text is not null)
        {
            html.Append($"<p>{text}</p>");
        }

        return html.Append($"</div>").ToHtml();
    }

    /// <summary>The hidden field that carries the session's CSRF token.</summary>
    private static RawHtml CsrfInput(AdminSession session) =>
        new AdminHtml().Append($"<input type=\"hidden\" name=\"{AdminSessions.CsrfField}\" value=\"{session.CsrfToken}\">").ToHtml();

    private static void Head(AdminHtml html, string basePath, string title) =>
        html.Append($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{title} · Luthien Control</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"{basePath}/admin.css\"></head><body>");

    private static RawHtml On(bool on) => new(on ? " class=\"on\" aria-current=\"page\"" : string.Empty);

    private static async Task WriteHtmlAsync(HttpContext context, int status, string html)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(html, context.RequestAborted).ConfigureAwait(false);
    }
}
