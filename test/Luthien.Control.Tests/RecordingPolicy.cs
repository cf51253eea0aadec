namespace Luthien.Control.Tests;

/// <summary>
/// A policy that writes "name:request" before its <c>next</c> and "name:response" after it into a shared log, and
/// optionally answers on its own (a policy that short-circuits) or throws.
/// </summary>
public sealed class RecordingPolicy(string name, List<string> log, bool answers = false, Exception? throws = null) : ControlPolicy
{
    public override async ValueTask ApplyAsync(Transaction transaction, PolicyDelegate next, CancellationToken cancellationToken)
    {
        log.Add($"{name}:request");
        if (throws is not null)
        {
            throw throws;
        }

        if (answers)
        {
            transaction.Response.SetJson(200, new System.Text.Json.Nodes.JsonObject { ["answered_by"] = name });
            return;
        }

        await next(transaction, cancellationToken);
        log.Add($"{name}:response");
    }
}
