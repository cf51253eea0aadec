using System.Data.Common;
using System.Text.Json.Nodes;

namespace Luthien.Control.Storage.Tests;

/// <summary>
/// What every store does, run against a real database of each provider: each test starts on an empty database
/// (<see cref="ResetDatabaseAsync"/>) and may open several stores on it, as instances sharing it would.
/// </summary>
public abstract class ControlStoreContractTests
{
    private static readonly DateTime T0 = new(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
    private readonly List<DbControlStore> _stores = [];

    /// <summary>A new store on the test's database, with its own connections (another instance).</summary>
    private protected abstract DbControlStore NewStore();

    /// <summary>Empties the test's database.</summary>
    protected abstract Task ResetDatabaseAsync();

    /// <summary>Runs SQL on the test's database without a store; returns the first column of the first row.</summary>
    protected abstract Task<object?> ScalarAsync(string sql);

    [SetUp]
    public Task SetUpDatabase() => ResetDatabaseAsync();

    [TearDown]
    public async Task DisposeStores()
    {
        foreach (var store in _stores)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }

        _stores.Clear();
    }

    private protected DbControlStore Store()
    {
        var store = NewStore();
        _stores.Add(store);
        return store;
    }

    private async Task<long> CountAsync(string sql) => Convert.ToInt64(await ScalarAsync(sql), System.Globalization.CultureInfo.InvariantCulture);

    private static TransactionLogRow Outcome(string id, DateTime at, int status = 200, string model = "gpt-4o-mini", string? keyName = null) =>
        new(id, at, TransactionLogRow.Outcome,
            new JsonObject
            {
                ["status"] = status,
                ["error_code"] = status == 200 ? null : "content_policy_violation",
                ["model"] = model,
                ["client"] = keyName is null ? null : new JsonObject { ["key_name"] = keyName },
            }.ToJsonString());

    private static void AssertSameJson(string? actual, string? expected)
    {
        Assert.That(actual, expected is null ? Is.Null : Is.Not.Null);
        if (expected is not null)
        {
            Assert.That(JsonNode.DeepEquals(JsonNode.Parse(actual!), JsonNode.Parse(expected)), Is.True, $"stored {actual}, wrote {expected}");
        }
    }

    // ---- Schema ----

    [Test]
    public async Task InitializeAsync_EmptyDatabase_CreatesTablesAtCurrentVersion()
    {
        await Store().InitializeAsync(CancellationToken.None);

        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_schema"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT MAX(version) FROM luthien_schema"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.Zero);
        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_client_keys"), Is.Zero);
    }

    [Test]
    public async Task InitializeAsync_SchemaAlreadyThere_LeavesItAndItsRows()
    {
        var first = Store();
        await first.WriteAsync([Outcome("tx-1", T0)], CancellationToken.None);

        await Store().InitializeAsync(CancellationToken.None);

        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_schema"), Is.EqualTo(1));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.EqualTo(1));
    }

    [Test]
    public async Task InitializeAsync_InstancesStartingTogether_MigrateOnceWithoutError()
    {
        // A race shows only sometimes: a few rounds on a new database each.
        for (var round = 0; round < 3; round++)
        {
            await ResetDatabaseAsync();
            var stores = Enumerable.Range(0, 6).Select(_ => Store()).ToList();

            await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(CancellationToken.None))));

            Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_schema"), Is.EqualTo(1));
        }
    }

    [Test]
    public async Task InitializeAsync_SchemaNewerThanLibrary_RefusesWithClearMessage()
    {
        await Store().InitializeAsync(CancellationToken.None);
        await ScalarAsync("INSERT INTO luthien_schema (version) VALUES (99)");

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => Store().InitializeAsync(CancellationToken.None));

        Assert.That(error!.Message, Does.Contain("version 99").And.Contain("upgrade the library"));
    }

    [Test]
    public async Task InitializeAsync_SchemaNewerThanLibrary_EveryOperationRefuses()
    {
        await Store().InitializeAsync(CancellationToken.None);
        await ScalarAsync("INSERT INTO luthien_schema (version) VALUES (99)");
        var store = Store();

        Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteAsync([Outcome("tx-1", T0)], CancellationToken.None));
        Assert.ThrowsAsync<InvalidOperationException>(() => store.FindActiveAsync("hash", CancellationToken.None));
        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.Zero);
    }

    // ---- Writing and reading back ----

    [Test]
    public async Task WriteAsync_Transaction_ReadsBackEveryRowInOrderWritten()
    {
        var store = Store();
        var at = T0.AddTicks(1_234_560); // .123456: the microseconds both databases keep
        const string request = """{"model":"gpt-4o","messages":[{"role":"user","content":"héllo \"world\"\n✓ 😀"}],"temperature":0.7,"n":1,"stream":true}""";
        const string response = """{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""";
        const string outcome = """{"status":200,"error_code":null,"decisions":[{"policy":"ModelNameReplacement","action":"replace"}],"client":{"key_name":"ci"}}""";
        const string notes = """{"truncated":false,"z":1,"a":[1,2,{"b":null}]}""";

        await store.WriteAsync(
        [
            new("tx-1", at, TransactionLogRow.Request, request, notes),
            new("tx-1", at.AddMilliseconds(5), TransactionLogRow.Response, response),
            new("tx-1", at.AddMilliseconds(6), TransactionLogRow.Outcome, outcome),
        ], CancellationToken.None);
        var rows = await store.GetTransactionAsync("tx-1", CancellationToken.None);

        Assert.That(rows.Select(r => r.Datatype), Is.EqualTo(new[] { "request", "response", "outcome" }));
        Assert.That(rows.Select(r => r.Id), Is.Ordered.Ascending.And.Unique.And.All.Positive);
        Assert.That(rows.Select(r => r.TransactionId), Is.All.EqualTo("tx-1"));
        Assert.That(rows[0].Datetime, Is.EqualTo(at));
        Assert.That(rows[0].Datetime.Kind, Is.EqualTo(DateTimeKind.Utc));
        Assert.That(rows[2].Datetime, Is.EqualTo(at.AddMilliseconds(6)));
        AssertSameJson(rows[0].Data, request);
        AssertSameJson(rows[1].Data, response);
        AssertSameJson(rows[2].Data, outcome);
        AssertSameJson(rows[0].Notes, notes);
        Assert.That(rows[1].Notes, Is.Null);
    }

    [Test]
    public async Task WriteAsync_NoData_ReadsBackNull()
    {
        var store = Store();

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Request, null)], CancellationToken.None);

        var row = (await store.GetTransactionAsync("tx-1", CancellationToken.None)).Single();
        Assert.That(row.Data, Is.Null);
        Assert.That(row.Notes, Is.Null);
    }

    [Test]
    public async Task WriteAsync_LocalTime_StoredAsUtc()
    {
        var store = Store();
        var local = new DateTime(2026, 7, 1, 12, 0, 0, DateTimeKind.Local);

        await store.WriteAsync([Outcome("tx-1", local)], CancellationToken.None);

        var row = (await store.GetTransactionAsync("tx-1", CancellationToken.None)).Single();
        Assert.That(row.Datetime, Is.EqualTo(local.ToUniversalTime()));
        Assert.That(row.Datetime.Kind, Is.EqualTo(DateTimeKind.Utc));
    }

    [Test]
    public async Task WriteAsync_RetriedBatch_KeepsRowsAlreadyWrittenAndAddsTheRest()
    {
        var store = Store();
        var request = new TransactionLogRow("tx-1", T0, TransactionLogRow.Request, """{"first":true}""");
        await store.WriteAsync([request], CancellationToken.None);

        await store.WriteAsync(
        [
            request with { Data = """{"first":false}""" },
            new("tx-1", T0, TransactionLogRow.Outcome, """{"status":200}"""),
        ], CancellationToken.None);

        var rows = await store.GetTransactionAsync("tx-1", CancellationToken.None);
        Assert.That(rows.Select(r => r.Datatype), Is.EqualTo(new[] { "request", "outcome" }));
        AssertSameJson(rows[0].Data, """{"first":true}""");
    }

    [Test]
    public async Task WriteAsync_SameRowTwiceInOneBatch_WritesItOnce()
    {
        var store = Store();
        var row = Outcome("tx-1", T0);

        await store.WriteAsync([row, row], CancellationToken.None);

        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.EqualTo(1));
    }

    [Test]
    public async Task WriteAsync_BatchLargerThanOneStatement_WritesEveryRow()
    {
        var store = Store();
        var rows = Enumerable.Range(0, 450).Select(i => Outcome($"tx-{i:D4}", T0.AddSeconds(i))).ToList();

        await store.WriteAsync(rows, CancellationToken.None);

        var page = await store.QueryOutcomesAsync(new TransactionQuery { Limit = 1000 }, CancellationToken.None);
        Assert.That(page.Select(r => r.TransactionId), Is.EqualTo(rows.Select(r => r.TransactionId).Reverse()));
    }

    [Test]
    public async Task WriteAsync_EmptyBatch_WritesNothing()
    {
        var store = Store();
        await store.InitializeAsync(CancellationToken.None);

        await store.WriteAsync([], CancellationToken.None);

        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.Zero);
    }

    [TestCase("""{"text":"a\u0000b"}""")]
    [TestCase("""{"text":"lone \ud800 high"}""")]
    [TestCase("""{"text":"lone \udfff low"}""")]
    [TestCase("""{"text":"pair \ud83d\ude00 ok","key\u0000":1}""")]
    [TestCase("""{"temperature":1e999999}""")]
    [TestCase("""{"temperature":-1E-999999,"big":123456789012345678901234567890123456789012345678901234567890}""")]
    [TestCase("""{"escaped":"\\u0000 is text"}""")]
    public async Task WriteAsync_ValidJsonADatabaseMightRefuse_IsStoredAsJson(string data)
    {
        var store = Store();

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Request, data, data), Outcome("tx-1", T0)], CancellationToken.None);

        var rows = await store.GetTransactionAsync("tx-1", CancellationToken.None);
        Assert.That(rows, Has.Count.EqualTo(2));
        Assert.That(() => JsonNode.Parse(rows[0].Data!), Throws.Nothing);
        Assert.That(() => JsonNode.Parse(rows[0].Notes!), Throws.Nothing);
    }

    [Test]
    public async Task WriteAsync_DeeplyNestedJson_IsStored()
    {
        var store = Store();
        var data = "{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}";

        await store.WriteAsync([new("tx-1", T0, TransactionLogRow.Response, data)], CancellationToken.None);

        Assert.That(await store.GetTransactionAsync("tx-1", CancellationToken.None), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task WriteAsync_ManyWritersOnTwoInstances_KeepsEveryRow()
    {
        var stores = new[] { Store(), Store() };
        await stores[0].InitializeAsync(CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var batch = 0; batch < 5; batch++)
            {
                var rows = Enumerable.Range(0, 20)
                    .SelectMany(i => new[]
                    {
                        new TransactionLogRow($"w{w}-b{batch}-{i}", T0, TransactionLogRow.Request, """{"x":1}"""),
                        Outcome($"w{w}-b{batch}-{i}", T0),
                    })
                    .ToList();
                await stores[w % 2].WriteAsync(rows, CancellationToken.None);
            }
        })));

        Assert.That(await CountAsync("SELECT COUNT(*) FROM luthien_log"), Is.EqualTo(16 * 5 * 20 * 2));
        Assert.That(await CountAsync("SELECT COUNT(DISTINCT id) FROM luthien_log"), Is.EqualTo(16 * 5 * 20 * 2));
    }

    // ---- Queries ----

    private async Task<DbControlStore> StoreWithOutcomesAsync()
    {
        var store = Store();
        await store.WriteAsync(
        [
            new("tx-a", T0, TransactionLogRow.Request, """{"model":"gpt-4o"}"""),
            Outcome("tx-a", T0, 200, "gpt-4o", "alice"),
            Outcome("tx-b", T0.AddMinutes(1), 403, "gpt-4o", "bob"),
            Outcome("tx-c", T0.AddMinutes(2), 200, "gpt-4o-mini", "alice"),
            new("tx-c", T0.AddMinutes(2), TransactionLogRow.Response, """{"choices":[]}"""),
            Outcome("tx-d", T0.AddMinutes(3), 502, "gpt-4o-mini"),
            Outcome("tx-e", T0.AddMinutes(4), 200, "gpt-4o"),
        ], CancellationToken.None);
        return store;
    }

    private static async Task<string[]> IdsAsync(DbControlStore store, TransactionQuery query) =>
        (await store.QueryOutcomesAsync(query, CancellationToken.None)).Select(r => r.TransactionId).ToArray();

    [Test]
    public async Task QueryOutcomesAsync_NoFilter_ReturnsOutcomesNewestFirst()
    {
        var store = await StoreWithOutcomesAsync();

        var rows = await store.QueryOutcomesAsync(new TransactionQuery(), CancellationToken.None);

        Assert.That(rows.Select(r => r.TransactionId), Is.EqualTo(new[] { "tx-e", "tx-d", "tx-c", "tx-b", "tx-a" }));
        Assert.That(rows.Select(r => r.Datatype), Is.All.EqualTo(TransactionLogRow.Outcome));
        Assert.That(rows.Select(r => r.Id), Is.Ordered.Descending);
    }

    [Test]
    public async Task QueryOutcomesAsync_Status_ReturnsThatStatusOnly()
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { Status = 200 }), Is.EqualTo(new[] { "tx-e", "tx-c", "tx-a" }));
        Assert.That(await IdsAsync(store, new() { Status = 403 }), Is.EqualTo(new[] { "tx-b" }));
        Assert.That(await IdsAsync(store, new() { Status = 404 }), Is.Empty);
    }

    [Test]
    public async Task QueryOutcomesAsync_Model_ReturnsThatModelOnly()
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { Model = "gpt-4o-mini" }), Is.EqualTo(new[] { "tx-d", "tx-c" }));
        Assert.That(await IdsAsync(store, new() { Model = "gpt-4" }), Is.Empty);
    }

    [Test]
    public async Task QueryOutcomesAsync_KeyName_MatchesClientKeyName()
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { KeyName = "alice" }), Is.EqualTo(new[] { "tx-c", "tx-a" }));
        Assert.That(await IdsAsync(store, new() { KeyName = "bob", Status = 403 }), Is.EqualTo(new[] { "tx-b" }));
        Assert.That(await IdsAsync(store, new() { KeyName = "bob", Status = 200 }), Is.Empty);
    }

    [Test]
    public async Task QueryOutcomesAsync_FromTo_FromIncludedToExcluded()
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { From = T0.AddMinutes(1), To = T0.AddMinutes(3) }), Is.EqualTo(new[] { "tx-c", "tx-b" }));
        Assert.That(await IdsAsync(store, new() { From = T0.AddMinutes(3) }), Is.EqualTo(new[] { "tx-e", "tx-d" }));
        Assert.That(await IdsAsync(store, new() { To = T0.AddMinutes(1) }), Is.EqualTo(new[] { "tx-a" }));
        Assert.That(await IdsAsync(store, new() { From = T0.AddMinutes(1).AddTicks(10) }), Is.EqualTo(new[] { "tx-e", "tx-d", "tx-c" }));
    }

    [Test]
    public async Task QueryOutcomesAsync_BeforeId_ReturnsTheNextPage()
    {
        var store = await StoreWithOutcomesAsync();

        var first = await store.QueryOutcomesAsync(new() { Limit = 2 }, CancellationToken.None);
        var second = await store.QueryOutcomesAsync(new() { Limit = 2, BeforeId = first[^1].Id }, CancellationToken.None);
        var third = await store.QueryOutcomesAsync(new() { Limit = 2, BeforeId = second[^1].Id }, CancellationToken.None);

        Assert.That(first.Concat(second).Concat(third).Select(r => r.TransactionId), Is.EqualTo(new[] { "tx-e", "tx-d", "tx-c", "tx-b", "tx-a" }));
    }

    [Test]
    public async Task QueryOutcomesAsync_TransactionId_ReturnsThatTransactionsOutcome()
    {
        var store = await StoreWithOutcomesAsync();

        var rows = await store.QueryOutcomesAsync(new() { TransactionId = "tx-c" }, CancellationToken.None);

        Assert.That(rows.Select(r => (r.TransactionId, r.Datatype)), Is.EqualTo(new[] { ("tx-c", TransactionLogRow.Outcome) }));
    }

    [TestCase(0, 1)]
    [TestCase(-5, 1)]
    [TestCase(3, 3)]
    public async Task QueryOutcomesAsync_Limit_ClampedToAtLeastOne(int limit, int expected)
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { Limit = limit }), Has.Length.EqualTo(expected));
    }

    [Test]
    public async Task QueryOutcomesAsync_LimitOverMaximum_ClampedTo1000()
    {
        var store = Store();
        await store.WriteAsync(Enumerable.Range(0, 1001).Select(i => Outcome($"tx-{i}", T0)).ToList(), CancellationToken.None);

        Assert.That(await IdsAsync(store, new() { Limit = int.MaxValue }), Has.Length.EqualTo(1000));
    }

    [TestCase("' OR '1'='1")]
    [TestCase("x'; DROP TABLE luthien_log; --")]
    [TestCase("\") OR 1=1 --")]
    [TestCase("$.status")]
    [TestCase("%")]
    public async Task QueryOutcomesAsync_InjectionInFilters_MatchesNothingAndHarmsNothing(string attack)
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await IdsAsync(store, new() { Model = attack }), Is.Empty);
        Assert.That(await IdsAsync(store, new() { KeyName = attack }), Is.Empty);
        Assert.That(await IdsAsync(store, new() { TransactionId = attack }), Is.Empty);
        Assert.That(await store.GetTransactionAsync(attack, CancellationToken.None), Is.Empty);
        Assert.That(await store.FindActiveAsync(attack, CancellationToken.None), Is.Null);
        Assert.That(await IdsAsync(store, new()), Has.Length.EqualTo(5));
    }

    [Test]
    public async Task QueryOutcomesAsync_InjectionStoredInData_ReadBackAsData()
    {
        var store = Store();
        var outcome = Outcome("tx-1", T0, 200, "m'); DROP TABLE luthien_log; --", "k' OR '1'='1");

        await store.WriteAsync([outcome], CancellationToken.None);

        Assert.That(await IdsAsync(store, new() { Model = "m'); DROP TABLE luthien_log; --" }), Is.EqualTo(new[] { "tx-1" }));
        Assert.That(await IdsAsync(store, new() { KeyName = "k' OR '1'='1" }), Is.EqualTo(new[] { "tx-1" }));
    }

    [Test]
    public async Task QueryOutcomesAsync_RowsWhoseDataIsNotJson_FiltersTheOthers()
    {
        var store = await StoreWithOutcomesAsync();
        await store.WriteAsync(
        [
            new("tx-x", T0, TransactionLogRow.Request, "cut off {\"model\":"),
            new("tx-x", T0, TransactionLogRow.Outcome, "not json"),
        ], CancellationToken.None);

        Assert.That(await IdsAsync(store, new() { Status = 403 }), Is.EqualTo(new[] { "tx-b" }));
        Assert.That(await IdsAsync(store, new() { Model = "gpt-4o-mini" }), Is.EqualTo(new[] { "tx-d", "tx-c" }));
        Assert.That(await IdsAsync(store, new() { KeyName = "bob" }), Is.EqualTo(new[] { "tx-b" }));
        Assert.That(await IdsAsync(store, new() { Limit = 1 }), Is.EqualTo(new[] { "tx-x" }));
    }

    [Test]
    public async Task GetTransactionAsync_Unknown_ReturnsNothing()
    {
        var store = await StoreWithOutcomesAsync();

        Assert.That(await store.GetTransactionAsync("tx-unknown", CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task GetTransactionAsync_OtherTransactionsInterleaved_ReturnsOnlyItsRows()
    {
        var store = await StoreWithOutcomesAsync();

        var rows = await store.GetTransactionAsync("tx-c", CancellationToken.None);

        Assert.That(rows.Select(r => r.Datatype), Is.EqualTo(new[] { "outcome", "response" }));
    }

    // ---- Client keys ----

    [Test]
    public async Task CreateAsync_NewKey_FoundByItsHashAndListed()
    {
        var store = Store();
        var createdAt = T0.AddTicks(7_654_320);

        var created = await store.CreateAsync("ci", ClientKeyHash.Of("lck-one"), createdAt, CancellationToken.None);
        var found = await store.FindActiveAsync(ClientKeyHash.Of("lck-one"), CancellationToken.None);
        var listed = await store.ListAsync(CancellationToken.None);

        Assert.That(created, Is.EqualTo(new StoredClientKey(created.Id, "ci", createdAt, null)));
        Assert.That(found, Is.EqualTo(created));
        Assert.That(found!.CreatedAt.Kind, Is.EqualTo(DateTimeKind.Utc));
        Assert.That(listed, Is.EqualTo(new[] { created }));
        Assert.That(await store.FindActiveAsync(ClientKeyHash.Of("lck-other"), CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task CreateAsync_KeyItself_NeverStored()
    {
        var store = Store();
        const string key = "lck-the-secret-itself";

        await store.CreateAsync("ci", ClientKeyHash.Of(key), T0, CancellationToken.None);

        Assert.That(await CountAsync($"SELECT COUNT(*) FROM luthien_client_keys WHERE key_hash = '{ClientKeyHash.Of(key)}'"), Is.EqualTo(1));
        Assert.That(await CountAsync($"SELECT COUNT(*) FROM luthien_client_keys WHERE key_hash = '{key}' OR name = '{key}'"), Is.Zero);
    }

    [Test]
    public async Task CreateAsync_SameHashTwice_Refused()
    {
        var store = Store();
        await store.CreateAsync("one", "same-hash", T0, CancellationToken.None);

        Assert.That(() => store.CreateAsync("two", "same-hash", T0, CancellationToken.None), Throws.InstanceOf<DbException>());
        Assert.That((await store.FindActiveAsync("same-hash", CancellationToken.None))?.Name, Is.EqualTo("one"));
    }

    [Test]
    public async Task ListAsync_SeveralKeys_NewestFirstWithRevocations()
    {
        var store = Store();
        var one = await store.CreateAsync("one", "h1", T0, CancellationToken.None);
        var two = await store.CreateAsync("two", "h2", T0.AddMinutes(1), CancellationToken.None);
        await store.RevokeAsync(one.Id, T0.AddMinutes(2), CancellationToken.None);

        var listed = await store.ListAsync(CancellationToken.None);

        Assert.That(listed, Is.EqualTo(new[] { two, one with { RevokedAt = T0.AddMinutes(2) } }));
        Assert.That(listed[1].RevokedAt!.Value.Kind, Is.EqualTo(DateTimeKind.Utc));
        Assert.That(listed.Select(k => k.IsActive), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public async Task RevokeAsync_ActiveKey_NoLongerFoundByAnyInstance()
    {
        var store = Store();
        var other = Store();
        var key = await store.CreateAsync("ci", "h1", T0, CancellationToken.None);
        Assert.That(await other.FindActiveAsync("h1", CancellationToken.None), Is.Not.Null);

        var revoked = await store.RevokeAsync(key.Id, T0.AddMinutes(1), CancellationToken.None);

        Assert.That(revoked, Is.True);
        Assert.That(await store.FindActiveAsync("h1", CancellationToken.None), Is.Null);
        Assert.That(await other.FindActiveAsync("h1", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task RevokeAsync_Twice_SecondReturnsFalseAndKeepsFirstTime()
    {
        var store = Store();
        var key = await store.CreateAsync("ci", "h1", T0, CancellationToken.None);
        await store.RevokeAsync(key.Id, T0.AddMinutes(1), CancellationToken.None);

        var again = await store.RevokeAsync(key.Id, T0.AddMinutes(2), CancellationToken.None);

        Assert.That(again, Is.False);
        Assert.That((await store.ListAsync(CancellationToken.None)).Single().RevokedAt, Is.EqualTo(T0.AddMinutes(1)));
    }

    [Test]
    public async Task RevokeAsync_UnknownId_ReturnsFalse()
    {
        var store = Store();
        await store.CreateAsync("ci", "h1", T0, CancellationToken.None);

        Assert.That(await store.RevokeAsync(424242, T0, CancellationToken.None), Is.False);
        Assert.That(await store.FindActiveAsync("h1", CancellationToken.None), Is.Not.Null);
    }
}
