using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Luthien.Control.AspNetCore;

/// <summary>
/// The admin area's JSON API under <c>{prefix}/api/</c>, and the key operations the pages share with it. Errors are
/// OpenAI-style (<c>{"error":{"message","type","param","code"}}</c>); while the audit log is off every call answers
/// 503 <c>audit_log_off</c>.
/// </summary>
internal sealed partial class AdminArea
{
    /// <summary>The longest key name.</summary>
    private const int MaxKeyNameLength = 100;

    /// <summary>GET <c>api/transactions</c>: the outcomes that match the filters, newest first.</summary>
    public async Task ListTransactionsAsync(AdminRequest request)
    {
        if (await StoreOrOffAsync(request).ConfigureAwait(false) is not { } store)
        {
            return;
        }

        if (!AdminQuery.TryRead(request.Context.Request.Query, out var query, out var problem))
        {
            await WriteApiErrorAsync(request.Context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, problem!.Value.Message, problem.Value.Param).ConfigureAwait(false);
            return;
        }

        var rows = await store.QueryOutcomesAsync(query with { Limit = query.Limit + 1 }, request.Aborted).ConfigureAwait(false);
        var page = rows.Take(query.Limit).ToList();
        await WriteJsonAsync(request.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var row in page)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", row.Id);
                writer.WriteString("transaction_id", row.TransactionId);
                writer.WriteString("datetime", Utc(row.Datetime));
                using var data = AdminJson.Parse(row.Data);
                if (data?.RootElement is { ValueKind: JsonValueKind.Object } outcome)
                {
                    foreach (var field in outcome.EnumerateObject())
                    {
                        if (field.Name is not ("id" or "transaction_id" or "datetime"))
                        {
                            field.WriteTo(writer);
                        }
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteBoolean("has_more", rows.Count > query.Limit);
            if (rows.Count > query.Limit)
            {
                writer.WriteNumber("next_before_id", page[^1].Id);
            }
            else
            {
                writer.WriteNull("next_before_id");
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>GET <c>api/transactions/{transaction_id}</c>: every row of one transaction, or 404.</summary>
    public async Task GetTransactionAsync(AdminRequest request)
    {
        if (await StoreOrOffAsync(request).ConfigureAwait(false) is not { } store)
        {
            return;
        }

        var id = request.Context.Request.RouteValues["transactionId"] as string ?? string.Empty;
        var rows = await store.GetTransactionAsync(id, request.Aborted).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            await WriteApiErrorAsync(request.Context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No transaction has this id (yet).", "transaction_id").ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(request.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("transaction_id", id);
            writer.WriteStartArray("rows");
            foreach (var row in rows)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", row.Id);
                writer.WriteString("datatype", row.Datatype);
                writer.WriteString("datetime", Utc(row.Datetime));
                WriteStoredJson(writer, "data", row.Data);
                WriteStoredJson(writer, "notes", row.Notes);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>GET <c>api/keys</c>: every key, newest first, without the keys themselves (they are not stored).</summary>
    public async Task ListKeysAsync(AdminRequest request)
    {
        if (await StoreOrOffAsync(request).ConfigureAwait(false) is not { } store)
        {
            return;
        }

        var keys = await store.ListAsync(request.Aborted).ConfigureAwait(false);
        await WriteJsonAsync(request.Context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", key.Id);
                writer.WriteString("name", key.Name);
                writer.WriteString("created_at", Utc(key.CreatedAt));
                if (key.RevokedAt is { } revokedAt)
                {
                    writer.WriteString("revoked_at", Utc(revokedAt));
                }
                else
                {
                    writer.WriteNull("revoked_at");
                }

                writer.WriteBoolean("active", key.IsActive);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// POST <c>api/keys</c> <c>{"name"}</c> (<c>application/json</c> only, which a cross-site form cannot send): 201
    /// <c>{"id","name","key","created_at"}</c>, the key shown this once.
    /// </summary>
    public async Task CreateKeyAsync(AdminRequest request)
    {
        var context = request.Context;
        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) ||
            !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await WriteApiErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, ErrorCodes.InvalidRequest,
                "Send the body as application/json: {\"name\": \"…\"}.", null).ConfigureAwait(false);
            return;
        }

        if (await StoreOrOffAsync(request).ConfigureAwait(false) is not { } store)
        {
            return;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await WriteApiErrorAsync(context, StatusCodes.Status413RequestEntityTooLarge, ErrorCodes.RequestTooLarge,
                "The body is too large.", null).ConfigureAwait(false);
            return;
        }

        string? raw = null;
        var isObject = false;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                isObject = true;
                raw = document.RootElement.Get("name") is { ValueKind: JsonValueKind.String } name ? name.GetString() : null;
            }
        }
        catch (JsonException)
        {
            isObject = false;
        }

        if (!isObject)
        {
            await WriteApiErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest,
                "The body must be a JSON object: {\"name\": \"…\"}.", null).ConfigureAwait(false);
            return;
        }

        if (CheckKeyName(raw, out var keyName) is { } problem)
        {
            await WriteApiErrorAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.InvalidRequest, problem, "name").ConfigureAwait(false);
            return;
        }

        var (created, key) = await CreateKeyAsync(store, request, keyName).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status201Created;
        await WriteJsonAsync(context, writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", created.Id);
            writer.WriteString("name", created.Name);
            writer.WriteString("key", key);
            writer.WriteString("created_at", Utc(created.CreatedAt));
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>DELETE <c>api/keys/{id}</c>: 204, or 404 when no active key has that id.</summary>
    public async Task RevokeKeyAsync(AdminRequest request)
    {
        if (await StoreOrOffAsync(request).ConfigureAwait(false) is not { } store)
        {
            return;
        }

        if (!long.TryParse(request.Context.Request.RouteValues["id"] as string, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ||
            !await RevokeKeyAsync(store, request, id).ConfigureAwait(false))
        {
            await WriteApiErrorAsync(request.Context, StatusCodes.Status404NotFound, ErrorCodes.NotFound, "No active key has this id.", "id").ConfigureAwait(false);
            return;
        }

        request.Context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>Why a key name cannot be used, or <see langword="null"/> when it can; <paramref name="name"/> is it trimmed.</summary>
    private static string? CheckKeyName(string? raw, out string name)
    {
        name = raw?.Trim() ?? string.Empty;
        if (name.Length == 0)
        {
            return "name is required: a short label for who uses the key, e.g. team-search.";
        }

        if (name.Length > MaxKeyNameLength)
        {
            return $"name must be at most {MaxKeyNameLength} characters.";
        }

        // Format characters (bidirectional overrides, zero-width joiners) would make a name read as another.
        return name.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == UnicodeCategory.Format)
            ? "name must not contain control or formatting characters."
            : null;
    }

    /// <summary>Makes a key and stores its hash; the key itself is only returned.</summary>
    private async Task<(StoredClientKey Created, string Key)> CreateKeyAsync(IControlStore store, AdminRequest request, string name)
    {
        var key = ClientKeyHash.NewKey();
        var created = await store.CreateAsync(name, ClientKeyHash.Of(key), Services.Time.GetUtcNow().UtcDateTime, request.Aborted).ConfigureAwait(false);
        LogKeyCreated(Services.Logger, created.Id, created.Name, request.RequiredSession.User);
        return (created, key);
    }

    private async Task<bool> RevokeKeyAsync(IControlStore store, AdminRequest request, long id)
    {
        var revoked = await store.RevokeAsync(id, Services.Time.GetUtcNow().UtcDateTime, request.Aborted).ConfigureAwait(false);
        if (revoked)
        {
            // This instance refuses the key at once; the others when their key cache expires (KeyCacheSeconds).
            _services.GetRequiredService<ClientKeyCache>().Clear();
            LogKeyRevoked(Services.Logger, id, request.RequiredSession.User);
        }

        return revoked;
    }

    /// <summary>The store; or, when the audit log is off, a 503 written and <see langword="null"/>.</summary>
    private async Task<IControlStore?> StoreOrOffAsync(AdminRequest request)
    {
        if (Store is { } store)
        {
            return store;
        }

        await WriteApiErrorAsync(request.Context, StatusCodes.Status503ServiceUnavailable, "audit_log_off",
            "The audit log is off (Luthien:TransactionLog:Provider is None): there are no transactions or client keys to serve.", null).ConfigureAwait(false);
        return null;
    }

    /// <summary>Stored JSON as JSON; text that is not JSON as a string; none as <c>null</c>.</summary>
    private static void WriteStoredJson(Utf8JsonWriter writer, string name, string? stored)
    {
        using var document = AdminJson.Parse(stored);
        if (document is not null)
        {
            writer.WritePropertyName(name);
            document.RootElement.WriteTo(writer);
        }
        else if (stored is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, stored);
        }
    }

    private static DateTime Utc(DateTime time) => DateTime.SpecifyKind(time, DateTimeKind.Utc);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin area: client key {Id} ({Name}) created by {User}.")]
    private static partial void LogKeyCreated(ILogger logger, long id, string name, string user);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admin area: client key {Id} revoked by {User}.")]
    private static partial void LogKeyRevoked(ILogger logger, long id, string user);
}
