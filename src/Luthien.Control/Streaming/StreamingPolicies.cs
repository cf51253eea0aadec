using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Luthien.Control.Streaming;

/// <summary>Registers the response-side built-in policies.</summary>
internal static class StreamingPolicies
{
    /// <summary>
    /// Registers <c>TransactionContextLoggingPolicy</c>, <c>ResponseContentPolicy</c>, <c>ToolCallPolicy</c> and
    /// luthien_control's demonstration policy <c>IncrementIntegers</c>, with
    /// their limits from <see cref="LuthienOptions.Limits"/>.
    /// </summary>
    /// <param name="registry">The registry to add them to.</param>
    public static PolicyRegistry AddStreamingPolicies(this PolicyRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Register("TransactionContextLoggingPolicy", ConfigJsonContext.Default.TransactionContextLoggingOptions, static (o, s) =>
            new TransactionContextLoggingPolicy(
                s.GetRequiredService<ILogger<TransactionContextLoggingPolicy>>(), TransactionContextLoggingPolicy.ParseLevel(o.LogLevel), s.GetService<TimeProvider>())
            {
                MaxHeldChunks = Limits(s).MaxHeldChunks,
                MaxHeldBytes = Limits(s).MaxPendingBytes,
            });
        registry.Register("ResponseContentPolicy", ConfigJsonContext.Default.ResponseContentOptions, static (o, s) =>
            new ResponseContentPolicy([.. o.Patterns], ResponseContentPolicy.ParseAction(o.Action), o.Replacement, Limits(s).MaxHoldbackChars, ResponseContentPolicy.ParseScope(o.Scope))
            {
                MaxHeldChunks = Limits(s).MaxHeldChunks,
                MaxHeldBytes = Limits(s).MaxPendingBytes,
            });
        registry.Register("ToolCallPolicy", ConfigJsonContext.Default.ToolCallOptions, static (o, s) =>
            new ToolCallPolicy(o.AllowedTools, o.BlockedTools, ArgumentRules(o.ArgumentRules)) { MaxHeldChunks = Limits(s).MaxHeldChunks, MaxHeldBytes = Limits(s).MaxPendingBytes });
        registry.Register("IncrementIntegers", ConfigJsonContext.Default.IncrementIntegersOptions, static (_, s) =>
            new IncrementIntegersPolicy { MaxHeldChunks = Limits(s).MaxHeldChunks, MaxHeldBytes = Limits(s).MaxPendingBytes });
        return registry.RegisterType(typeof(TransactionContextLoggingPolicy), "TransactionContextLoggingPolicy")
            .RegisterType(typeof(ResponseContentPolicy), "ResponseContentPolicy")
            .RegisterType(typeof(ToolCallPolicy), "ToolCallPolicy");
    }

    /// <summary>Reads <c>argument_rules</c>; an entry without patterns is an error naming its tool.</summary>
    private static Dictionary<string, ToolArgumentRules>? ArgumentRules(IDictionary<string, ToolArgumentRuleOptions>? options)
    {
        if (options is null)
        {
            return null;
        }

        var rules = new Dictionary<string, ToolArgumentRules>(StringComparer.Ordinal);
        foreach (var (tool, rule) in options)
        {
            if (rule?.Allow is not { Count: > 0 } && rule?.Block is not { Count: > 0 })
            {
                throw new ArgumentException($"argument_rules['{tool}'] needs 'allow' or 'block' patterns.");
            }

            rules[tool] = new ToolArgumentRules(rule.Allow, rule.Block);
        }

        return rules;
    }

    private static LimitOptions Limits(IServiceProvider services) =>
        services.GetService<IOptions<LuthienOptions>>()?.Value.Limits ?? new LimitOptions();
}
