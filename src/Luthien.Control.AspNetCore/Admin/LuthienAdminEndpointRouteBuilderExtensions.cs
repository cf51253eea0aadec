using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Luthien.Control.AspNetCore;

/// <summary>Maps the admin area.</summary>
public static class LuthienAdminEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the admin area under <paramref name="prefix"/>: a login page, the audit log's transactions (a filtered list
    /// and a page per transaction: request, response, policy decisions, the stream's timeline), the database's client
    /// keys (create, shown once; revoke), and the same as JSON under <c>{prefix}/api/</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The area is on only while <c>Luthien:Admin:Password</c> is set (read on every request): without it every path
    /// under the prefix answers 404 and nothing else of the area runs. The login is <c>Luthien:Admin:Username</c>
    /// (default <c>admin</c>) and that password; a session is a cookie protected by ASP.NET Data Protection, valid for
    /// <c>Luthien:Admin:SessionSeconds</c> from its last use, and ended by a password change. Repeated failed logins from
    /// one address are slowed down exponentially.
    /// </para>
    /// <para>
    /// Without a session, <c>{prefix}/api/*</c> answers 401 and the pages redirect to <c>{prefix}/login</c>. Every
    /// state-changing form carries a per-session token, the JSON API's POST takes <c>application/json</c> only, and every
    /// response forbids scripts, framing and caching. When the audit log is off (<c>Luthien:TransactionLog:Provider</c>
    /// <c>None</c>) the pages say so and the JSON API answers 503 <c>audit_log_off</c>.
    /// </para>
    /// <para>
    /// Serve it over HTTPS in production (the cookie is <c>Secure</c> when the request is). With several instances
    /// behind a load balancer, share the Data Protection keys (<c>AddDataProtection().PersistKeysTo…</c>) so that a
    /// session opened on one instance is valid on the others.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="prefix">The area's path, e.g. <c>/admin</c>; not <c>/</c>.</param>
    /// <returns>The route group of the area's routes, to add metadata such as host filtering or rate limiting.</returns>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is empty, <c>/</c>, or not a plain path.</exception>
    /// <exception cref="InvalidOperationException"><c>AddLuthienControl</c> was not called.</exception>
    /// <example>
    /// <code>
    /// builder.Services.AddLuthienControl(builder.Configuration.GetSection("Luthien"))
    ///     .AddSqliteStore();                 // Luthien:TransactionLog:Provider=Sqlite
    /// var app = builder.Build();
    /// app.MapLuthienControl("/v1");
    /// app.MapLuthienAdmin("/admin");         // on when Luthien:Admin:Password is set
    /// app.Run();
    /// </code>
    /// </example>
    public static RouteGroupBuilder MapLuthienAdmin(this IEndpointRouteBuilder endpoints, string prefix = "/admin")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        var path = "/" + prefix.Trim('/');
        if (path == "/" || path.Contains("//", StringComparison.Ordinal) ||
            path.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '{' or '}' or '?' or '#' or '%' or '\\' or '*'))
        {
            throw new ArgumentException($"The admin prefix must be a plain path below the root, e.g. /admin (got '{prefix}').", nameof(prefix));
        }

        if (!EndpointServices.HasCoreServices(endpoints.ServiceProvider))
        {
            throw new InvalidOperationException("MapLuthienAdmin needs the services AddLuthienControl registers: call builder.Services.AddLuthienControl(…) first.");
        }

        var area = new AdminArea(EndpointServices.For(endpoints.ServiceProvider), path);
        var group = endpoints.MapGroup(path);
        group.MapGet("/admin.css", area.Gate(AdminArea.StylesheetAsync, AdminAccess.Public));
        group.MapGet("/login", area.Gate(area.LoginPageAsync, AdminAccess.Public));
        group.MapPost("/login", area.Gate(area.LoginAsync, AdminAccess.Public));
        group.MapPost("/logout", area.Gate(area.LogoutAsync, AdminAccess.Page));
        group.MapGet("/", area.Gate(area.TransactionsPageAsync, AdminAccess.Page));
        group.MapGet("/transactions/{transactionId}", area.Gate(area.TransactionPageAsync, AdminAccess.Page));
        group.MapGet("/keys", area.Gate(area.KeysPageAsync, AdminAccess.Page));
        group.MapPost("/keys", area.Gate(area.CreateKeyFormAsync, AdminAccess.Page));
        group.MapPost("/keys/{id}/revoke", area.Gate(area.RevokeKeyFormAsync, AdminAccess.Page));

        var api = group.MapGroup("/api");
        api.MapGet("/transactions", area.Gate(area.ListTransactionsAsync, AdminAccess.Api));
        api.MapGet("/transactions/{transactionId}", area.Gate(area.GetTransactionAsync, AdminAccess.Api));
        api.MapGet("/keys", area.Gate(area.ListKeysAsync, AdminAccess.Api));
        api.MapPost("/keys", area.Gate(area.CreateKeyAsync, AdminAccess.Api));
        api.MapDelete("/keys/{id}", area.Gate(area.RevokeKeyAsync, AdminAccess.Api));

        // Everything else under the prefix is the area's too: 404 (or, without a session, 401 / the login page).
        api.Map("/{**rest}", area.Gate(AdminArea.ApiNotFoundAsync, AdminAccess.Api));
        group.Map("/{**rest}", area.Gate(AdminArea.PageNotFoundAsync, AdminAccess.Page));
        return group;
    }
}
