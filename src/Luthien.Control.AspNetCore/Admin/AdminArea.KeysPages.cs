using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Luthien.Control.AspNetCore;

/// <summary>The admin area's client keys page: the list, creating a key (shown once) and revoking one.</summary>
internal sealed partial class AdminArea
{
    /// <summary>GET <c>{prefix}/keys</c>: the client keys, and the form to create one.</summary>
    public async Task KeysPageAsync(AdminRequest request)
    {
        var revoked = request.Context.Request.Query["revoked"].ToString();
        var notice = long.TryParse(revoked, NumberStyles.None, CultureInfo.InvariantCulture, out var revokedId)
            ? Notice("success", $"Key {revokedId} revoked.", "Clients using it are refused within seconds on every instance sharing the store.")
            : RawHtml.Empty;
        await WriteKeysPageAsync(request, StatusCodes.Status200OK, notice, null).ConfigureAwait(false);
    }

    /// <summary>POST <c>{prefix}/keys</c> (form: <c>name</c>, the session's token): creates a key and shows it, once.</summary>
    public async Task CreateKeyFormAsync(AdminRequest request)
    {
        if (await KeyFormAsync(request).ConfigureAwait(false) is not var (form, store))
        {
            return;
        }

        var raw = form.TryGetValue("name", out var value) ? value.ToString() : null;
        if (CheckKeyName(raw, out var name) is { } problem)
        {
            await WriteKeysPageAsync(request, StatusCodes.Status400BadRequest, Notice("error", "The key was not created.", problem), raw).ConfigureAwait(false);
            return;
        }

        var (created, key) = await CreateKeyAsync(store, request, name).ConfigureAwait(false);
        var shown = new AdminHtml()
            .Append($"<div class=\"notice success\" role=\"status\"><strong>Key “{created.Name}” created (id {created.Id}).</strong>")
            .Append($"<p>Copy it now: it is not stored and cannot be shown again. Only its hash is kept.</p>")
            .Append($"<div class=\"secret\"><code id=\"new-key\">{key}</code></div></div>")
            .ToHtml();
        await WriteKeysPageAsync(request, StatusCodes.Status200OK, shown, null).ConfigureAwait(false);
    }

    /// <summary>
    /// The start of a keys form: the session's token checked and the store at hand; <see langword="null"/> when the answer
    /// (403, or 503 without a store) has been written already.
    /// </summary>
    private async Task<(Dictionary<string, StringValues> Form, IControlStore Store)?> KeyFormAsync(AdminRequest request)
    {
        var form = await ReadFormAsync(request.Context).ConfigureAwait(false);
        if (!await CheckCsrfAsync(request, form).ConfigureAwait(false))
        {
            return null;
        }

        if (Store is not { } store)
        {
            await WriteKeysPageAsync(request, StatusCodes.Status503ServiceUnavailable, RawHtml.Empty, null).ConfigureAwait(false);
            return null;
        }

        return (form!, store);
    }

    /// <summary>POST <c>{prefix}/keys/{id}/revoke</c> (the session's token): revokes a key.</summary>
    public async Task RevokeKeyFormAsync(AdminRequest request)
    {
        if (await KeyFormAsync(request).ConfigureAwait(false) is not var (form, store))
        {
            return;
        }

        if (!long.TryParse(request.Context.Request.RouteValues["id"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ||
            !await RevokeKeyAsync(store, request, id).ConfigureAwait(false))
        {
            await WriteKeysPageAsync(request, StatusCodes.Status404NotFound, Notice("error", "No active key has that id.", "It may have been revoked already."), null).ConfigureAwait(false);
            return;
        }

        SeeOther(request.Context, $"{request.Base}/keys?revoked={id.ToString(CultureInfo.InvariantCulture)}");
    }

    private async Task WriteKeysPageAsync(AdminRequest request, int status, RawHtml notice, string? name)
    {
        var html = new AdminHtml().Append($"<div class=\"title\"><h1>Client keys</h1><span class=\"sub\">for ClientApiKeyAuth with \"source\": \"database\"</span></div>");
        var store = Store;
        if (store is null)
        {
            html.Append(Notice("info", "Client keys need a store.",
                "Set Luthien:TransactionLog:Provider to Sqlite or PostgreSql (and its ConnectionString): keys are kept in the same database as the audit log."));
            await WritePageAsync(request, status, "Client keys", "keys", html.ToHtml()).ConfigureAwait(false);
            return;
        }

        html.Append(notice);
        html.Append($"<div class=\"panel\"><h2>New key</h2><form class=\"create\" method=\"post\" action=\"{request.Base}/keys\">{CsrfInput(request.RequiredSession)}");
        html.Append($"<label>Name<input name=\"name\" required maxlength=\"{MaxKeyNameLength}\" placeholder=\"e.g. team-search\" value=\"{name ?? string.Empty}\"></label>");
        html.Append($"<button type=\"submit\">Create key</button></form>");
        html.Append($"<p class=\"hint\">The key is shown once, right after it is created; the database keeps only its SHA-256 hash. Its name is recorded with every transaction it authenticates.</p></div>");

        var keys = await store.ListAsync(request.Aborted).ConfigureAwait(false);
        html.Append($"<div class=\"panel flush\">");
        if (keys.Count == 0)
        {
            html.Append($"<div class=\"empty\">No keys yet.</div>");
        }
        else
        {
            html.Append($"<div class=\"table-wrap\"><table><thead><tr><th>Name</th><th class=\"num\">Id</th><th>Created (UTC)</th><th>Status</th><th></th></tr></thead><tbody>");
            foreach (var key in keys)
            {
                html.Append($"<tr><td class=\"wrap\"><strong>{key.Name}</strong></td><td class=\"num mono\">{key.Id}</td><td class=\"time\">{TransactionOutcome.FormatTime(key.CreatedAt)}</td>");
                if (key.RevokedAt is { } revokedAt)
                {
                    html.Append($"<td><span class=\"st st-gone\">revoked</span> <span class=\"faint\">{TransactionOutcome.FormatTime(revokedAt)}</span></td><td></td></tr>");
                }
                else
                {
                    html.Append($"<td><span class=\"st st-ok\">active</span></td><td class=\"num\"><form class=\"inline\" method=\"post\" action=\"{request.Base}/keys/{key.Id}/revoke\">{CsrfInput(request.RequiredSession)}<button class=\"danger\" type=\"submit\">Revoke</button></form></td></tr>");
                }
            }

            html.Append($"</tbody></table></div>");
        }

        html.Append($"</div>");
        await WritePageAsync(request, status, "Client keys", "keys", html.ToHtml()).ConfigureAwait(false);
    }
}
