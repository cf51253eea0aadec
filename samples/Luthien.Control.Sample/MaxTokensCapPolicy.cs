
namespace Luthien.Control.Sample;

/// <summary>Options of <see cref="MaxTokensCapPolicy"/> (<c>MaxTokensCap</c> in policy files).</summary>
public sealed class MaxTokensCapOptions : PolicyOptions
{
    /// <summary>The largest completion a client may ask for.</summary>
    public int MaxTokens { get; set; } = 1024;
}

/// <summary>
/// An example of a host app's own policy: caps the answer length each API's request asks for (chat
/// <c>max_completion_tokens</c> and <c>max_tokens</c>, Responses <c>max_output_tokens</c>, legacy <c>max_tokens</c>),
/// and sets it when the client asked for no limit.
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
        if (transaction.Request.Payload is not { } payload)
        {
            return next(transaction, cancellationToken);
        }

        // Each API names its limit its own way; the first field listed is the one added when the client set none.
        string[] fields = transaction.Request.Kind switch
        {
            RequestKind.Responses => ["max_output_tokens"],
            RequestKind.Completion => ["max_tokens"],
            _ => ["max_completion_tokens", "max_tokens"],
        };
        var capped = false;
        foreach (var field in fields)
        {
            if (payload[field] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue(out long requested) && requested > _maxTokens)
            {
                payload[field] = _maxTokens;
            }

            capped |= payload.ContainsKey(field);
        }

        if (!capped)
        {
            payload[fields[0]] = _maxTokens;
        }

        return next(transaction, cancellationToken);
    }
}
