using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control;

/// <summary>Options of <see cref="ClientApiKeyAuthPolicy"/> (<c>ClientApiKeyAuth</c> in policy files).</summary>
internal sealed class ClientApiKeyAuthOptions : PolicyOptions
{
    /// <summary>
    /// The keys clients may present (named <c>keys[0]</c>, <c>keys[1]</c>, … in the audit log). Absent (and no
    /// <see cref="Source"/>): the database's keys, as luthien_control reads them, and an error at start when no database is
    /// configured. An explicit empty list refuses every request (a warning is logged at start).
    /// </summary>
    public IList<string>? Keys { get; set; }

    /// <summary>
    /// Where keys come from: <c>config</c> (<see cref="Keys"/>) or <c>database</c> (the store's client keys, created and
    /// revoked in the admin area; needs <c>Luthien:TransactionLog:Provider</c>). Unset: <c>config</c> when
    /// <see cref="Keys"/> is given, else <c>database</c>.
    /// </summary>
    public string? Source { get; set; }
}

/// <summary>
/// Lets a request through only if it presents one of the configured client keys, as <c>Authorization: Bearer …</c>
/// or <c>api-key</c>; otherwise 401 <c>invalid_api_key</c>. Keys are compared in constant time and never logged. The
/// matching key's name goes into the transaction's <see cref="ClientIdentity"/> (<c>data.client.key_name</c>) and the
/// audit log; keys may also come from the database (<c>"source": "database"</c>).
/// </summary>
public sealed partial class ClientApiKeyAuthPolicy : ControlPolicy, ISecretPatterns
{
    /// <summary>The policy's name in policy files and audit decisions.</summary>
    internal const string TypeName = "ClientApiKeyAuth";

    private readonly byte[][] _keyHashes;

    // The configured keys as literal patterns: a key of no known shape, written into a prompt, is masked in the audit log.
    private readonly string[] _secretPatterns;
    private readonly ClientKeyCache? _database;
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    /// <param name="keys">The accepted keys.</param>
    /// <param name="logger">The logger.</param>
    public ClientApiKeyAuthPolicy(IEnumerable<string> keys, ILogger<ClientApiKeyAuthPolicy>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var given = keys.Where(k => !string.IsNullOrEmpty(k)).ToList();
        _keyHashes = [.. given.Select(Hash)];
        _secretPatterns = [.. given.Select(Regex.Escape)];
        _logger = logger ?? NullLogger<ClientApiKeyAuthPolicy>.Instance;
        if (_keyHashes.Length == 0)
        {
            LogNoKeys(_logger);
        }
    }

    /// <summary>Creates the policy over the database's keys.</summary>
    /// <param name="database">The store's keys.</param>
    /// <param name="logger">The logger.</param>
    internal ClientApiKeyAuthPolicy(ClientKeyCache database, ILogger<ClientApiKeyAuthPolicy>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _keyHashes = [];
        _secretPatterns = [];
        _database = database;
        _logger = logger ?? NullLogger<ClientApiKeyAuthPolicy>.Instance;
    }

    /// <inheritdoc />
    IEnumerable<string> ISecretPatterns.SecretPatterns => _secretPatterns;

    /// <inheritdoc />
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(next);
        var presented = transaction.Request.ClientApiKey;
        if (presented is null)
        {
            Refuse(transaction, "missing");
            throw ControlPolicyException.InvalidApiKey(transaction.HostBackend is null
                ? "Missing API key. Send it as 'Authorization: Bearer <key>' or 'api-key: <key>'."
                : "ClientApiKeyAuth has no client key to check in-process (UseLuthienControl): a chat client call carries none. Leave ClientApiKeyAuth out of the policy file used in-process.");
        }

        var name = _database is null ? MatchConfigured(presented) : (await _database.FindAsync(presented, cancellationToken).ConfigureAwait(false))?.Name;
        if (name is null)
        {
            Refuse(transaction, "not recognised");
            throw ControlPolicyException.InvalidApiKey("Incorrect API key provided.");
        }

        var identity = transaction.Data.TryGet(ClientIdentity.Key, out var known) ? known with { KeyName = name } : new ClientIdentity { KeyName = name };
        transaction.Data.Set(ClientIdentity.Key, identity);
        transaction.RecordDecision(new PolicyDecision(TypeName, "allow", name));
        await next(transaction, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The name of the configured key that matches, or <see langword="null"/>.</summary>
    private string? MatchConfigured(string presented)
    {
        var hash = Hash(presented);
        var matched = -1;
        for (var i = 0; i < _keyHashes.Length; i++)
        {
            // Visit every key so that timing does not tell which one came close.
            if (CryptographicOperations.FixedTimeEquals(hash, _keyHashes[i]))
            {
                matched = i;
            }
        }

        return matched < 0 ? null : $"keys[{matched}]";
    }

    private void Refuse(Transaction transaction, string reason)
    {
        LogRejected(_logger, transaction.Id, reason);
        transaction.RecordDecision(new PolicyDecision(TypeName, "reject", reason));
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    [LoggerMessage(Level = LogLevel.Warning, Message = "ClientApiKeyAuth has no keys configured: every request will be refused with 401.")]
    private static partial void LogNoKeys(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: client key {Reason}; refused with 401.")]
    private static partial void LogRejected(ILogger logger, string transactionId, string reason);
}
