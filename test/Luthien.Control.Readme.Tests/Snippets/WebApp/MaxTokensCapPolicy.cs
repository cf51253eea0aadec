using System.Text.Json.Nodes;
using Luthien.Control;

public sealed class MaxTokensCapOptions : PolicyOptions          // binds from "config", snake_case keys
{
    public int MaxTokens { get; set; } = 1024;                    // "max_tokens" in the policy file
}

public sealed class MaxTokensCapPolicy(MaxTokensCapOptions options) : ControlPolicy
{
    public override ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        if (transaction.Request is { Kind: RequestKind.ChatCompletion, Payload: { } payload } &&
            payload["max_completion_tokens"] is JsonValue v && v.TryGetValue(out long n) && n > options.MaxTokens)
        {
            payload["max_completion_tokens"] = options.MaxTokens;
        }
        return next(transaction, cancellationToken);
    }
}
