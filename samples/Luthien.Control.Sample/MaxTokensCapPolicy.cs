
namespace Luthien.Control.Sample;

/// <summary>Options of <see cref="MaxTokensCapPolicy"/> (<c>MaxTokensCap</c> in policy files).</summary>
public sealed class MaxTokensCapOptions : PolicyOptions
{
    /// <summary>The largest completion a client may ask for.</summary>
    public int MaxTokens { get; set; } = 1024;
}

/// <summary>
/// An example of a host app's own policy: caps <c>max_tokens</c> and <c>max_completion_tokens</c>, and sets
/// <c>max_completion_tokens</c> when the client asked for no limit.
/// </summary>
public sealed class MaxTokensCapPolicy : ControlPolicy
{
    private readonly int _maxTokens;

    /// <summary>Creates the policy.</summary>
    /// <param name="options">Its options from the policy file.</param>
    public MaxTokensCapPolicy(MaxTokensCapOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxTokens, "max_tokens");
        _maxTokens = options.MaxTokens;
    }

    /// <inheritdoc />
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        if (transaction.Request.Chat is not { } chat)
        {
            return next(transaction, cancellationToken);
        }

        var capped = false;
        foreach (var field in (string[])["max_tokens", "max_completion_tokens"])
        {
            if (chat.Payload[field] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue(out long requested) && requested > _maxTokens)
            {
                chat.Payload[field] = _maxTokens;
            }

            capped |= chat.Payload.ContainsKey(field);
        }

        if (!capped)
        {
            chat.Payload["max_completion_tokens"] = _maxTokens;
        }

        return next(transaction, cancellationToken);
    }
}
