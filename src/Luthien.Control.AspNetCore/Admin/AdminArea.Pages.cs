using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Luthien.Control.AspNetCore;

/// <summary>The admin area's pages: the transaction list and a transaction (the client keys: AdminArea.KeysPages.cs).</summary>
internal sealed partial class AdminArea
{
    private static readonly RawHtml AuditLogOff = Notice("info", "The audit log is off.",
        "Set Luthien:TransactionLog:Provider to Sqlite or PostgreSql (and its ConnectionString) to record every transaction here.");

    /// <summary>GET <c>{prefix}/</c>: the transactions, newest first, filtered.</summary>
    public async Task TransactionsPageAsync(AdminRequest request)
    {
        var store = Store;
        if (store is null)
        {
            await WritePageAsync(request, StatusCodes.Status200OK, "Transactions", "transactions", new AdminHtml()
                .Append($"<div class=\"title\"><h1>Transactions</h1></div>").Append(AuditLogOff).ToHtml()).ConfigureAwait(false);
            return;
        }

        var valid = AdminQuery.TryRead(request.Context.Request.Query, out var query, out var problem);
        var html = new AdminHtml().Append($"<div class=\"title\"><h1>Transactions</h1><span class=\"sub\">newest first · times in UTC</span></div>");
        var keys = await store.ListAsync(request.Aborted).ConfigureAwait(false);
        Filters(html, request, valid ? query : new TransactionQuery(), request.Context.Request.Query, keys);
        if (!valid)
        {
            html.Append(Notice("error", "That filter cannot be used.", problem!.Value.Message));
            await WritePageAsync(request, StatusCodes.Status400BadRequest, "Transactions", "transactions", html.ToHtml()).ConfigureAwait(false);
            return;
        }

        // One more than the page, to know whether an older page exists.
        var rows = await store.QueryOutcomesAsync(query with { Limit = query.Limit + 1 }, request.Aborted).ConfigureAwait(false);
        var outcomes = rows.Take(query.Limit).Select(TransactionOutcome.From).ToList();
        html.Append($"<div class=\"panel flush\">");
        if (outcomes.Count == 0)
        {
            var filtered = query.Status is not null || query.Model is not null || query.KeyName is not null || query.From is not null || query.To is not null;
            html.Append($"<div class=\"empty\">{(filtered ? "No transaction matches these filters." : query.BeforeId is not null ? "No older transactions." : "No transactions recorded yet.")}</div>");
        }
        else
        {
            TransactionTable(html, request.Base, outcomes);
        }

        html.Append($"<div class=\"pager\"><span>");
        if (query.BeforeId is not null)
        {
            html.Append($"<a href=\"{request.Base}/{AdminQuery.ToQueryString(query, null)}\">« Newest</a>");
        }

        html.Append($"</span><span>{(outcomes.Count == 0 ? string.Empty : $"{outcomes.Count} shown")}</span><span>");
        if (rows.Count > query.Limit)
        {
            html.Append($"<a href=\"{request.Base}/{AdminQuery.ToQueryString(query, outcomes[^1].Id)}\">Older »</a>");
        }

        html.Append($"</span></div></div>");
        await WritePageAsync(request, StatusCodes.Status200OK, "Transactions", "transactions", html.ToHtml()).ConfigureAwait(false);
    }

    /// <summary>GET <c>{prefix}/transactions/{transactionId}</c>: one transaction.</summary>
    public async Task TransactionPageAsync(AdminRequest request)
    {
        var store = Store;
        var id = request.Context.Request.RouteValues["transactionId"] as string ?? string.Empty;
        var back = new AdminHtml().Append($"<a class=\"crumb\" href=\"{request.Base}/\">« Transactions</a>").ToHtml();
        if (store is null)
        {
            await WritePageAsync(request, StatusCodes.Status200OK, "Transaction", "transactions", new AdminHtml().Append(back).Append(AuditLogOff).ToHtml()).ConfigureAwait(false);
            return;
        }

        var rows = await store.GetTransactionAsync(id, request.Aborted).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            await WritePageAsync(request, StatusCodes.Status404NotFound, "Transaction not found", "transactions", new AdminHtml().Append(back)
                .Append(Notice("error", "No transaction has this id.", "It may not have been written yet (rows arrive within seconds), or the id is wrong.")).ToHtml()).ConfigureAwait(false);
            return;
        }

        var outcomeRow = rows.FirstOrDefault(r => r.Datatype == TransactionLogRow.Outcome);
        var outcome = outcomeRow is null
            ? new TransactionOutcome { TransactionId = id, Time = rows[0].Datetime }
            : TransactionOutcome.From(outcomeRow);
        using var requestData = AdminJson.Parse(rows.FirstOrDefault(r => r.Datatype == TransactionLogRow.Request)?.Data);
        using var responseData = AdminJson.Parse(rows.FirstOrDefault(r => r.Datatype == TransactionLogRow.Response)?.Data);
        var requestRoot = requestData?.RootElement ?? default;
        var responseRoot = responseData?.RootElement ?? default;

        var html = new AdminHtml().Append(back);
        html.Append($"<div class=\"title\"><h1 class=\"mono\">{id}</h1>");
        if (outcome.Status is { } status)
        {
            html.Append($"<span class=\"{TransactionOutcome.StatusClass(status)}\">{status}</span>");
        }

        if (outcome.ErrorCode is { } errorCode)
        {
            html.Append($"<span class=\"code\">{errorCode}</span>");
        }

        html.Append($"<span class=\"sub\">{TransactionOutcome.FormatTime(outcome.Time)} UTC</span>");
        html.Append($"<a class=\"button ghost\" href=\"{request.Base}/api/transactions/{Uri.EscapeDataString(id)}\">JSON</a></div>");

        Facts(html, outcome, requestRoot);
        Decisions(html, outcome);

        var timeline = StreamTimeline.Read(responseRoot.Get("timeline") ?? default);
        if (timeline.Count > 0)
        {
            var first = timeline.Min(p => p.Ms);
            var bytes = timeline.Sum(p => p.Bytes);
            html.Append($"<div class=\"panel\"><div class=\"panel-head\"><h2>Stream timeline</h2><span class=\"sub\">{AdminJson.Count(timeline.Count)} events · {AdminJson.Count((long)bytes)} bytes · first at {TransactionOutcome.FormatMs(first)} · last at {TransactionOutcome.FormatMs(timeline.Max(p => p.Ms))}</span></div>");
            html.Append(StreamTimeline.ToSvg(timeline, outcome.DurationMs, outcome.FirstChunkMs)).Append($"</div>");
        }

        html.Append($"<div class=\"grid2 stack\">");
        RequestPanel(html, requestRoot, rows.Any(r => r.Datatype == TransactionLogRow.Request));
        ResponsePanel(html, responseRoot, rows.Any(r => r.Datatype == TransactionLogRow.Response));
        html.Append($"</div>");

        foreach (var row in rows)
        {
            if (row.Datatype is not (TransactionLogRow.Request or TransactionLogRow.Response or TransactionLogRow.Outcome))
            {
                html.Append($"<div class=\"panel\"><h2>{row.Datatype}</h2><pre>{AdminJson.ToHtml(row.Data)}</pre></div>");
            }

            if (row.Notes is not null)
            {
                html.Append($"<div class=\"panel\"><h2>Notes on {row.Datatype}</h2><pre>{AdminJson.ToHtml(row.Notes)}</pre></div>");
            }
        }

        await WritePageAsync(request, StatusCodes.Status200OK, id, "transactions", html.ToHtml()).ConfigureAwait(false);
    }

    private static void Filters(AdminHtml html, AdminRequest request, TransactionQuery query, IQueryCollection raw, IReadOnlyList<StoredClientKey> keys)
    {
        // A value that did not parse is shown as typed, so it can be corrected.
        string Shown(string name, string? parsed) => parsed ?? raw[name].ToString();
        html.Append($"<div class=\"panel\"><form class=\"filters\" method=\"get\" action=\"{request.Base}/\">");
        html.Append($"<label>Status<input class=\"narrow\" name=\"status\" inputmode=\"numeric\" placeholder=\"any\" value=\"{Shown("status", query.Status?.ToString(CultureInfo.InvariantCulture))}\"></label>");
        html.Append($"<label>Model<input class=\"mid\" name=\"model\" placeholder=\"any\" value=\"{Shown("model", query.Model)}\"></label>");
        html.Append($"<label>Key name<input class=\"mid\" name=\"key_name\" list=\"key-names\" placeholder=\"any\" value=\"{Shown("key_name", query.KeyName)}\"></label>");
        html.Append($"<datalist id=\"key-names\">");
        foreach (var name in keys.Select(k => k.Name).Distinct(StringComparer.Ordinal))
        {
            html.Append($"<option value=\"{name}\"></option>");
        }

        html.Append($"</datalist>");
        html.Append($"<label>From (UTC)<input name=\"from\" type=\"datetime-local\" step=\"1\" value=\"{Shown("from", query.From is null ? null : AdminQuery.ToInputValue(query.From))}\"></label>");
        html.Append($"<label>To (UTC)<input name=\"to\" type=\"datetime-local\" step=\"1\" value=\"{Shown("to", query.To is null ? null : AdminQuery.ToInputValue(query.To))}\"></label>");
        html.Append($"<button type=\"submit\">Filter</button><a class=\"button ghost\" href=\"{request.Base}/\">Clear</a></form></div>");
    }

    private static void TransactionTable(AdminHtml html, string basePath, List<TransactionOutcome> outcomes)
    {
        html.Append($"<div class=\"table-wrap\"><table class=\"list\"><thead><tr><th>Time (UTC)</th><th>Transaction</th><th>API</th><th>Model</th><th>Status</th><th class=\"hide-sm\">Error</th><th>Client</th><th class=\"num\">Duration</th><th class=\"num hide-sm\">First chunk</th><th class=\"num\">Tokens</th></tr></thead><tbody>");
        foreach (var o in outcomes)
        {
            html.Append($"<tr><td class=\"time\">{TransactionOutcome.FormatTime(o.Time)}</td>");
            html.Append($"<td class=\"id nw\"><a href=\"{basePath}/transactions/{Uri.EscapeDataString(o.TransactionId)}\">{o.TransactionId}</a></td>");
            html.Append($"<td class=\"api nw\">{ApiTag(o)}</td><td class=\"nw\">{o.Model}</td>");
            html.Append($"<td class=\"nw\">{(o.Status is { } status ? new AdminHtml().Append($"<span class=\"{TransactionOutcome.StatusClass(status)}\">{status}</span>").ToHtml() : RawHtml.Empty)}</td>");
            html.Append($"<td class=\"hide-sm nw\">{(o.ErrorCode is { } code ? new AdminHtml().Append($"<span class=\"code\">{code}</span>").ToHtml() : RawHtml.Empty)}</td>");
            html.Append($"<td class=\"nw\">{Client(o)}</td>");
            html.Append($"<td class=\"num\">{TransactionOutcome.FormatMs(o.DurationMs)}</td><td class=\"num hide-sm\">{TransactionOutcome.FormatMs(o.FirstChunkMs)}</td>");
            html.Append($"<td class=\"num\">{Tokens(o)}</td></tr>");
        }

        html.Append($"</tbody></table></div>");
    }

    private static RawHtml ApiTag(TransactionOutcome o)
    {
        if (o.Api is null)
        {
            return RawHtml.Empty;
        }

        var html = new AdminHtml().Append($"<span class=\"tag\">{o.Api}</span>");
        if (o.Stream == true)
        {
            html.Append($"<span class=\"tag accent\">stream</span>");
        }

        return html.ToHtml();
    }

    private static RawHtml Client(TransactionOutcome o)
    {
        var html = new AdminHtml();
        if (o.KeyName is not null)
        {
            html.Append($"{o.KeyName}");
        }

        if (o.User is not null)
        {
            html.Append($"{(o.KeyName is null ? RawHtml.Empty : new RawHtml(" "))}<span class=\"muted\">{o.User}</span>");
        }

        return html.ToHtml();
    }

    private static RawHtml Tokens(TransactionOutcome o)
    {
        if (o.TotalTokens is null && o.PromptTokens is null && o.CompletionTokens is null)
        {
            return RawHtml.Empty;
        }

        // The total, with the split in a tooltip: one line per row keeps the list scannable.
        var total = o.TotalTokens ?? (o.PromptTokens ?? 0) + (o.CompletionTokens ?? 0);
        return new AdminHtml().Append($"<span title=\"{(o.PromptTokens is { } p ? AdminJson.Count(p) : "?")} prompt → {(o.CompletionTokens is { } c ? AdminJson.Count(c) : "?")} completion\">{AdminJson.Count(total)}</span>").ToHtml();
    }

    private static void Facts(AdminHtml html, TransactionOutcome o, JsonElement request)
    {
        html.Append($"<div class=\"panel\"><dl class=\"facts\">");
        void Fact(string name, RawHtml value)
        {
            if (value.Value.Length > 0)
            {
                html.Append($"<div><dt>{name}</dt><dd>{value}</dd></div>");
            }
        }

        RawHtml Text(string? value) => new AdminHtml().Text(value).ToHtml();
        Fact("API", ApiTag(o));
        Fact("Request", Text(string.Join(' ', new[] { o.Method ?? request.GetText("method"), o.Path ?? request.GetText("path") }.Where(s => s is not null))));
        Fact("Model", Text(o.Model ?? request.GetText("model")));
        Fact("Client key", Text(o.KeyName));
        Fact("User", Text(o.User));
        Fact("Duration", Text(TransactionOutcome.FormatMs(o.DurationMs)));
        Fact("First chunk", Text(TransactionOutcome.FormatMs(o.FirstChunkMs)));
        Fact("Prompt tokens", Text(o.PromptTokens is { } p ? AdminJson.Count(p) : null));
        Fact("Completion tokens", Text(o.CompletionTokens is { } c ? AdminJson.Count(c) : null));
        Fact("Total tokens", Text(o.TotalTokens is { } t ? AdminJson.Count(t) : null));
        html.Append($"</dl></div>");
    }

    private static void Decisions(AdminHtml html, TransactionOutcome o)
    {
        html.Append($"<div class=\"panel{(o.Decisions.Count == 0 ? RawHtml.Empty : new RawHtml(" flush"))}\">");
        if (o.Decisions.Count == 0)
        {
            html.Append($"<h2>Policy decisions</h2><p class=\"muted\">No policy recorded a decision.</p></div>");
            return;
        }

        html.Append($"<div class=\"table-wrap\"><table><thead><tr><th>Policy decisions</th><th>Action</th><th>Detail</th></tr></thead><tbody>");
        foreach (var (policy, action, detail) in o.Decisions)
        {
            html.Append($"<tr><td><strong>{policy}</strong></td><td><span class=\"tag{(action is "reject" or "block" or "redact" ? new RawHtml(" accent") : RawHtml.Empty)}\">{action}</span></td><td class=\"wrap muted\">{detail}</td></tr>");
        }

        html.Append($"</tbody></table></div></div>");
    }

    private static void RequestPanel(AdminHtml html, JsonElement request, bool recorded)
    {
        html.Append($"<div class=\"panel\"><h2>Request</h2>");
        if (!recorded)
        {
            html.Append($"<p class=\"muted\">No request row was recorded.</p></div>");
            return;
        }

        html.Append($"<div class=\"meta\">");
        if (request.GetText("method") is { } method)
        {
            html.Append($"<span class=\"tag\">{method} {request.GetText("path")}</span>");
        }

        if (request.GetInteger("body_bytes") is { } size)
        {
            html.Append($"<span class=\"tag\">{AdminJson.Count(size)} bytes</span>");
        }

        if (request.GetBoolean("truncated") == true)
        {
            html.Append($"<span class=\"tag accent\">truncated</span>");
        }

        html.Append($"</div>");
        if (request.Get("headers") is { ValueKind: JsonValueKind.Object } headers)
        {
            html.Append($"<h3>Headers</h3><div class=\"table-wrap\"><table class=\"kv\"><tbody>");
            foreach (var header in headers.EnumerateObject())
            {
                html.Append($"<tr><td>{header.Name}</td><td class=\"wrap\">{(header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString() : header.Value.GetRawText())}</td></tr>");
            }

            html.Append($"</tbody></table></div>");
        }

        html.Append($"<h3>Body</h3>");
        html.Append(request.Get("body") is { } body
            ? new AdminHtml().Append($"<pre>{AdminJson.ToHtml(body)}</pre>").ToHtml()
            : new AdminHtml().Append($"<p class=\"muted\">No body.</p>").ToHtml());
        html.Append($"</div>");
    }

    private static void ResponsePanel(AdminHtml html, JsonElement response, bool recorded)
    {
        html.Append($"<div class=\"panel\"><h2>Response</h2>");
        if (!recorded)
        {
            html.Append($"<p class=\"muted\">No response row was recorded.</p></div>");
            return;
        }

        html.Append($"<div class=\"meta\">");
        if (response.GetInteger("status") is { } status)
        {
            html.Append($"<span class=\"{TransactionOutcome.StatusClass((int)Math.Clamp(status, 0, 999))}\">{status}</span>");
        }

        var streamed = response.GetBoolean("stream") == true;
        if (streamed)
        {
            html.Append($"<span class=\"tag accent\">stream</span>");
        }

        if (response.GetInteger("events") is { } events)
        {
            html.Append($"<span class=\"tag\">{AdminJson.Count(events)} events</span>");
        }

        if (response.GetBoolean("truncated") == true)
        {
            html.Append($"<span class=\"tag accent\">truncated</span>");
        }

        html.Append($"</div>");
        var shown = streamed ? response.Get("assembled") ?? response.Get("body") : response.Get("body");
        html.Append($"<h3>{(streamed ? "Assembled as the client saw it" : "Body")}</h3>");
        html.Append(shown is { } body
            ? new AdminHtml().Append($"<pre>{AdminJson.ToHtml(body)}</pre>").ToHtml()
            : new AdminHtml().Append($"<p class=\"muted\">No body.</p>").ToHtml());
        html.Append($"</div>");
    }
}
