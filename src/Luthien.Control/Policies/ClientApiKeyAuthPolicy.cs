using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control;

/// <summary>Options of <see cref="ClientApiKeyAuthPolicy"/> (<c>ClientApiKeyAuth</c> in policy files).</summary>
internal sealed class ClientApiKeyAuthOptions : PolicyOptions
{
    /// <summary>The keys clients may present. With none, every request is refused.</summary>
    public IList<string> Keys { get; set; } = [];
}

/// <summary>
/// Lets a request through only if it presents one of the configured client keys, as <c>Authorization: Bearer …</c>
/// or <c>api-key</c>; otherwise 401 <c>invalid_api_key</c>. Keys are compared in constant time and never logged.
/// </summary>
public sealed partial class ClientApiKeyAuthPolicy : ControlPolicy
{
    private readonly byte[][] _keyHashes;
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    /// <param name="keys">The accepted keys.</param>
    /// <param name="logger">The logger.</param>
    public ClientApiKeyAuthPolicy(IEnumerable<string> keys, ILogger<ClientApiKeyAuthPolicy>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keyHashes = [.. keys.Where(k => !string.IsNullOrEmpty(k)).Select(Hash)];
        _logger = logger ?? NullLogger<ClientApiKeyAuthPolicy>.Instance;
        if (_keyHashes.Length == 0)
        {
            LogNoKeys(_logger);
        }
    }

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var presented = transaction.Request.ClientApiKey;
        if (presented is null)
        {
            LogRejected(_logger, transaction.Id, "missing");
            throw ControlPolicyException.InvalidApiKey("Missing API key. Send it as 'Authorization: Bearer <key>' or 'api-key: <key>'.");
        }

        var hash = Hash(presented);
        var match = false;
        foreach (var candidate in _keyHashes)
        {
            // Visit every key so that timing does not tell which one came close.
            match |= CryptographicOperations.FixedTimeEquals(hash, candidate);
        }

        if (!match)
        {
            LogRejected(_logger, transaction.Id, "not recognised");
            throw ControlPolicyException.InvalidApiKey("Incorrect API key provided.");
        }

        return next(transaction, cancellationToken);
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    [LoggerMessage(Level = LogLevel.Warning, Message = "ClientApiKeyAuth has no keys configured: every request will be refused with 401.")]
    private static partial void LogNoKeys(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Transaction {TransactionId}: client key {Reason}; refused with 401.")]
    private static partial void LogRejected(ILogger logger, string transactionId, string reason);
}
