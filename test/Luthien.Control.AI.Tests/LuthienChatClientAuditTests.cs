using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AI.Tests.Infrastructure;
using Luthien.Control.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Luthien.Control.AI.Tests;

/// <summary>
/// The audit log in-process, on a real SQLite file, in an app that builds its services without a generic host: every
/// call leaves its three rows, the answer as the app got it, and no secret.
/// </summary>
public sealed class LuthienChatClientAuditTests
{
    private const string Secret = "sk-ABCDEFGHIJKLMNOPQRSTUVWX";

    private string _folder = null!;

    [SetUp]
    public void SetUp() => _folder = Directory.CreateTempSubdirectory("luthien-ai-audit-").FullName;

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task GetResponse_AuditLogOnWithoutHost_EveryCallHasItsRowsAndNoSecret([Values] bool streaming)
    {
        using var backend = new ScriptedOpenAi();
        if (streaming)
        {
            backend.Streams(Wire.Text("The key is sk-ABCDEFGH", "IJKLMNOPQRSTUVWX and", " that is all."));
        }
        else
        {
            backend.Answers(Wire.Completion($"The key is {Secret} and that is all."));
        }

        var database = Path.Combine(_folder, "audit.db");
        var policies = Path.Combine(_folder, "policies.json");
        File.WriteAllText(policies, """
            { "type": "SerialPolicy", "config": { "policies": [
              { "type": "ResponseContentPolicy", "config": { "patterns": ["sk-[A-Za-z0-9]{20,}"], "action": "redact", "replacement": "[REDACTED]" } },
              { "type": "SendBackendRequest", "config": {} }
            ] } }
            """);
        string transactionText;
        var logs = new ListLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddLuthienControl(o =>
        {
            o.PolicyFile = policies;
            o.TransactionLog.Provider = TransactionLogProvider.Sqlite;
            o.TransactionLog.ConnectionString = $"Data Source={database}";
        }).AddSqliteStore();
        services.AddChatClient(_ => backend.CreateClient()).UseLuthienControl();
        await using (var provider = services.BuildServiceProvider())
        {
            var client = provider.GetRequiredService<IChatClient>();
            List<ChatMessage> messages = [new(ChatRole.User, "What is the key?")];
            var response = streaming
                ? await client.GetStreamingResponseAsync(messages).ToChatResponseAsync()
                : await client.GetResponseAsync(messages);
            transactionText = response.Text;
        }

        var rows = ReadRows(database);
        Assert.That(logs.Entries.Where(e => e.Level >= LogLevel.Warning), Is.Empty);
        Assert.That(transactionText, Is.EqualTo("The key is [REDACTED] and that is all."));
        Assert.That(rows.Select(r => r.Datatype), Is.EquivalentTo(new[] { "request", "response", "outcome" }));
        Assert.That(rows.Select(r => r.TransactionId).Distinct().Count(), Is.EqualTo(1));
        var outcome = JsonNode.Parse(rows.Single(r => r.Datatype == "outcome").Data)!;
        Assert.That(outcome["status"]!.GetValue<int>(), Is.EqualTo(200));
        Assert.That(outcome["error_code"], Is.Null);
        Assert.That(rows.Single(r => r.Datatype == "response").Data, Does.Contain("[REDACTED]"));
        Assert.That(Encoding.UTF8.GetString(File.ReadAllBytes(database)), Does.Not.Contain("ABCDEFGH"));
    }

    [Test]
    public async Task GetResponse_RejectedCall_LogsTheRefusalWithItsCode()
    {
        using var backend = new ScriptedOpenAi();
        var database = Path.Combine(_folder, "audit.db");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLuthienControl(o =>
        {
            o.TransactionLog.Provider = TransactionLogProvider.Sqlite;
            o.TransactionLog.ConnectionString = $"Data Source={database}";
        }).AddSqliteStore().UsePolicies(chain => chain.Add<LeakedApiKeyDetectionPolicy>().Add<SendBackendRequestPolicy>());
        services.AddChatClient(_ => backend.CreateClient()).UseLuthienControl();
        await using (var provider = services.BuildServiceProvider())
        {
            var client = provider.GetRequiredService<IChatClient>();
            Assert.ThrowsAsync<ControlPolicyException>(() => client.GetResponseAsync("my key is sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123"));
        }

        var outcome = JsonNode.Parse(ReadRows(database).Single(r => r.Datatype == "outcome").Data)!;
        Assert.That(outcome["status"]!.GetValue<int>(), Is.EqualTo(403));
        Assert.That(outcome["error_code"]!.GetValue<string>(), Is.EqualTo("content_policy_violation"));
        Assert.That(Encoding.UTF8.GetString(File.ReadAllBytes(database)), Does.Not.Contain("AbCdEfGhIjKl"));
    }

    private static List<(string TransactionId, string Datatype, string Data)> ReadRows(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT transaction_id, datatype, data FROM luthien_log ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<(string, string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }
}
