using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Luthien.Control;

/// <summary>Options of <see cref="LeakedApiKeyDetectionPolicy"/> (<c>LeakedApiKeyDetection</c> in policy files).</summary>
internal sealed class LeakedApiKeyDetectionOptions : PolicyOptions
{
    /// <summary>Regular expressions of secrets; empty uses <see cref="LeakedApiKeyDetectionPolicy.DefaultPatterns"/>.</summary>
    public IList<string>? Patterns { get; set; }
}

/// <summary>
/// Refuses (403 <c>content_policy_violation</c>) a request whose text (chat messages, Responses input and instructions,
/// a legacy prompt: <see cref="TransactionRequest.EnumerateTexts"/>) contains something that looks like an API key, so
/// that it never reaches the model. The error and the logs never repeat the secret.
/// </summary>
public sealed partial class LeakedApiKeyDetectionPolicy : ControlPolicy, ISecretPatterns
{
    /// <summary>
    /// The patterns used when none are configured: luthien_control's (OpenAI's original keys, Slack bot and GitHub
    /// fine-grained tokens), and the key forms issued since (OpenAI project, service-account and admin keys, Anthropic
    /// keys), which hold <c>-</c> and <c>_</c>.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultPatterns =
    [
        "sk-[a-zA-Z0-9]{48}",
        "sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}",
        "sk-ant-[A-Za-z0-9_-]{20,}",
        @"xoxb-[a-zA-Z0-9\-]{50,}",
        "github_pat_[a-zA-Z0-9]{22}_[a-zA-Z0-9]{59}",
    ];

    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);
    private readonly Regex[] _patterns;
    private readonly ILogger _logger;

    /// <summary>Creates the policy.</summary>
    /// <param name="patterns">Regular expressions; <see langword="null"/> or empty uses <see cref="DefaultPatterns"/>.</param>
    /// <param name="logger">The logger.</param>
    public LeakedApiKeyDetectionPolicy(IEnumerable<string>? patterns = null, ILogger<LeakedApiKeyDetectionPolicy>? logger = null)
    {
        var list = patterns?.ToList() is { Count: > 0 } given ? given : [.. DefaultPatterns];
        _patterns = new Regex[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            try
            {
                _patterns[i] = new Regex(list[i], RegexOptions.CultureInvariant, MatchTimeout);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"patterns[{i}] is not a valid regular expression: {ex.Message}", nameof(patterns), ex);
            }
        }

        _logger = logger ?? NullLogger<LeakedApiKeyDetectionPolicy>.Instance;
        _patternTexts = list;
    }

    private readonly IReadOnlyList<string> _patternTexts;

    /// <inheritdoc />
    IEnumerable<string> ISecretPatterns.SecretPatterns => _patternTexts;

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        foreach (var text in transaction.Request.EnumerateTexts())
        {
            if (ContainsSecret(text))
            {
                LogBlocked(_logger, transaction.Id, Name);
                transaction.RecordDecision(new PolicyDecision("LeakedApiKeyDetection", "reject"));
                throw ControlPolicyException.PolicyViolation(
                    "Potential API key detected in message content. For security, the request has been blocked.");
            }
        }

        return next(transaction, cancellationToken);
    }

    /// <summary>Whether <paramref name="text"/> matches any pattern.</summary>
    /// <param name="text">Text to check.</param>
    public bool ContainsSecret(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var pattern in _patterns)
        {
            try
            {
                if (pattern.IsMatch(text))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A pattern too slow for this text is treated as a match: refusing is the safe side.
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transaction {TransactionId}: potential API key in message content; refused by {PolicyName}.")]
    private static partial void LogBlocked(ILogger logger, string transactionId, string policyName);
}
