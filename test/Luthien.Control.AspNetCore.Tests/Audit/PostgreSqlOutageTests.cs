using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Luthien.Control.AspNetCore.Tests.Infrastructure;
using Luthien.Control.PostgreSql;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>
/// The contract's outage: PostgreSQL stopped for 30 s under steady load, then started again — every transaction id a
/// client received has its rows afterwards (within 30 s of the database's return), none lost.
/// </summary>
[NonParallelizable]
public sealed class PostgreSqlOutageTests
{
    private const int OutageSeconds = 30;

    [Test]
    public async Task TransactionLog_DatabaseStoppedUnderLoad_NoTransactionLost()
    {
        await using var postgres = await ThrowawayPostgres.StartAsync();
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = context => FakeBackend.Json(context, 200,
            """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""");
        await using var app = new LuthienAppFactory(new Dictionary<string, string?>
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:TransactionLog:Provider"] = "PostgreSql",
            ["Luthien:TransactionLog:ConnectionString"] = postgres.ConnectionString,
        });
        var client = app.CreateClient();
        var ids = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();

        async Task LoadAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await client.PostAsync("/v1/chat/completions",
                    new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "requests are served while the database is away");
                ids.Add(response.Headers.GetValues("x-luthien-transaction-id").Single());
                await Task.Delay(20);
            }
        }

        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(LoadAsync)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await postgres.StopAsync();
        var servedBeforeOutage = ids.Count;
        await Task.Delay(TimeSpan.FromSeconds(OutageSeconds));
        var servedDuringOutage = ids.Count - servedBeforeOutage;
        await postgres.StartAgainAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        // Read back through a store of the test's own.
        await using var store = new PostgreSqlControlStore(postgres.ConnectionString);
        var missing = ids.ToHashSet();
        for (var second = 0; second < 30 && missing.Count > 0; second++)
        {
            var outcomes = await store.QueryOutcomesAsync(new TransactionQuery { Limit = 1000 }, CancellationToken.None);
            var page = outcomes;
            while (page.Count == 1000)
            {
                page = await store.QueryOutcomesAsync(new TransactionQuery { Limit = 1000, BeforeId = page[^1].Id }, CancellationToken.None);
                outcomes = [.. outcomes, .. page];
            }

            missing.ExceptWith(outcomes.Select(o => o.TransactionId));
            if (missing.Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }

        Assert.That(servedDuringOutage, Is.GreaterThan(50), "steady load during the outage");
        Assert.That(missing, Is.Empty, $"{missing.Count} of {ids.Count} transactions have no outcome row within 30 s of the database's return");
        var incomplete = new List<string>();
        foreach (var id in ids)
        {
            var rows = await store.GetTransactionAsync(id, CancellationToken.None);
            if (!rows.Select(r => r.Datatype).Order().SequenceEqual(["outcome", "request", "response"]))
            {
                incomplete.Add(id);
            }
        }

        Assert.That(incomplete, Is.Empty, "every transaction has its request, response and outcome rows");
    }
}
