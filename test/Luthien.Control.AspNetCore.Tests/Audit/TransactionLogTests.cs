using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Audit;

/// <summary>
/// The audit log through the real pipeline into a real SQLite file: every transaction, served or refused, has its
/// request, response and outcome rows; a stream is stored as the client saw it; no secret reaches the file.
/// </summary>
public sealed class TransactionLogTests : FakeBackendAppTests
{
    private const string ClientKey = "client-key-audit-1";
    private const string BackendKey = "sk-backend-abcdefghijklmnopqrstuvwx";
    private const string LeakedKey = "sk-proj-leakedleakedleakedleakedleaked01";
    private const string RedactedSecret = "SECRET-482913";

    private readonly AuditDatabase _database = AuditDatabase.Create();

    private protected override Dictionary<string, string?> Settings(FakeBackend backend)
    {
        return new(_database.Settings())
        {
            ["Luthien:Backend:BaseUrl"] = backend.BaseUrl.ToString(),
            ["Luthien:Backend:ApiKey"] = BackendKey,
            ["Luthien:PolicyFile"] = PolicyFiles.Write($$"""
                { "type": "SerialPolicy", "config": { "policies": [
                  { "type": "ClientApiKeyAuth", "config": { "keys": ["{{ClientKey}}"] } },
                  { "type": "LeakedApiKeyDetection", "config": { "patterns": [] } },
                  { "type": "ModelNameReplacement", "config": { "model_mapping": { "fast": "gpt-4o-mini" } } },
                  { "type": "ResponseContentPolicy", "config": { "patterns": ["SECRET-[0-9]{6}"], "action": "redact" } },
                  { "type": "SendBackendRequest", "config": {} }
                ] } }
                """),
        };
    }

    [OneTimeTearDown]
    public void DeleteDatabase() => _database.Dispose();

    private async Task<(HttpResponseMessage Response, string Body, string TransactionId)> PostAsync(string json, string? key = ClientKey)
    {
        using var client = App.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response, body, response.Headers.GetValues("x-luthien-transaction-id").Single());
    }

    private Task<Dictionary<string, JsonObject>> RowsAsync(string transactionId) => _database.RowsAsync(transactionId);

    private string DatabaseBytes() => _database.Bytes();

    [Test]
    public async Task Served_Buffered_RequestResponseOutcomeRows()
    {
        Backend.Handler = context => FakeBackend.Json(context, 200,
            """{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""");

        var (response, _, id) = await PostAsync("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""");
        var rows = await RowsAsync(id);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((string?)rows["request"]["body"]!["model"], Is.EqualTo("gpt-4o-mini"), "the request as it reached the backend");
        Assert.That((string?)rows["response"]["body"]!["choices"]![0]!["message"]!["content"], Is.EqualTo("hello"));
        var outcome = rows["outcome"];
        Assert.That((int?)outcome["status"], Is.EqualTo(200));
        Assert.That(outcome["error_code"], Is.Null);
        Assert.That((int?)outcome["usage"]!["total_tokens"], Is.EqualTo(4));
        Assert.That((string?)outcome["client"]!["key_name"], Is.EqualTo("keys[0]"));
        Assert.That((string?)outcome["model"], Is.EqualTo("fast"));
        Assert.That(outcome["decisions"]!.AsArray().Select(d => (string?)d!["policy"] + ":" + (string?)d["action"]),
            Is.EqualTo(new[] { "ClientApiKeyAuth:allow", "ModelNameReplacement:replace" }));
        Assert.That((double?)outcome["duration_ms"], Is.GreaterThan(0));
    }

    [Test]
    public async Task Served_Stream_AssembledAsClientSawIt()
    {
        Backend.Handler = context => FakeBackend.Sse(context,
            "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"the code is SECR\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ET-482913 ok\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":5,\"total_tokens\":7}}\n\n",
            "data: [DONE]\n\n");

        var (_, body, id) = await PostAsync("""{"model":"m","stream":true,"messages":[{"role":"user","content":"code?"}]}""");
        var rows = await RowsAsync(id);

        Assert.That(body, Does.Contain("[REDACTED]").And.Not.Contain("482913"));
        Assert.That((string?)rows["response"]["assembled"]!["choices"]![0]!["message"]!["content"], Is.EqualTo("the code is [REDACTED] ok"));
        Assert.That((int?)rows["response"]["events"], Is.GreaterThanOrEqualTo(2));
        Assert.That(rows["outcome"]["time_to_first_chunk_ms"], Is.Not.Null);
        Assert.That((int?)rows["outcome"]["usage"]!["total_tokens"], Is.EqualTo(7), "usage the library asked for is logged, though the client never saw it");
        Assert.That(rows["outcome"]["decisions"]!.AsArray().Select(d => (string?)d!["action"]), Does.Contain("redact"));
        Assert.That(DatabaseBytes(), Does.Not.Contain("482913"));
    }

    [Test]
    public async Task Refused_LeakedKey_RowsWithoutTheKey()
    {
        var (response, _, id) = await PostAsync($$"""{"model":"m","messages":[{"role":"user","content":"my key {{LeakedKey}}"}]}""");
        var rows = await RowsAsync(id);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((string?)rows["outcome"]["error_code"], Is.EqualTo("content_policy_violation"));
        Assert.That(rows["outcome"]["decisions"]!.AsArray().Select(d => (string?)d!["policy"]), Does.Contain("LeakedApiKeyDetection"));
        Assert.That((string?)rows["request"]["body"]!["messages"]![0]!["content"], Is.EqualTo("my key [REDACTED]"));
        Assert.That(Backend.Requests, Is.Empty);
        Assert.That(DatabaseBytes(), Does.Not.Contain("leakedleaked"));
    }

    [Test]
    public async Task Refused_NoClientKey_Logged401()
    {
        var (response, _, id) = await PostAsync("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", key: null);
        var rows = await RowsAsync(id);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((int?)rows["outcome"]["status"], Is.EqualTo(401));
        Assert.That((string?)rows["outcome"]["error_code"], Is.EqualTo("invalid_api_key"));
        Assert.That(rows["outcome"]["client"]!["key_name"], Is.Null);
        Assert.That(rows["request"]["body"], Is.Null, "a body nobody vouched for is not stored");
        Assert.That((string?)rows["request"]["body_note"], Does.Contain("not authenticated"));
    }

    [Test]
    public async Task Served_HugeModelName_StoredBounded()
    {
        Backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c4","object":"chat.completion","created":1,"model":"m","choices":[]}""");
        var model = new string('m', 10_000);

        var (_, _, id) = await PostAsync($$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");
        var rows = await RowsAsync(id);

        Assert.That(((string?)rows["outcome"]["model"])!.Length, Is.LessThanOrEqualTo(AuditCapture.MaxModelChars + 1));
    }

    [Test]
    public async Task Refused_BodyNotJson_Logged400()
    {
        var (response, _, id) = await PostAsync("{not json");
        var rows = await RowsAsync(id);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)rows["outcome"]["error_code"], Is.EqualTo("invalid_request"));
        Assert.That(rows["request"]["body"], Is.Null);
    }

    [Test]
    public async Task Credentials_ClientAndBackendKeys_NeverStored()
    {
        Backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c3","object":"chat.completion","created":1,"model":"m","choices":[]}""");

        var (_, _, id) = await PostAsync("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""");
        await RowsAsync(id);

        var bytes = DatabaseBytes();
        Assert.That(bytes, Does.Contain(id), "the search reads what was written");
        Assert.That(bytes, Does.Not.Contain(ClientKey));
        Assert.That(bytes, Does.Not.Contain("abcdefghijklmnopqrstuvwx"));
        Assert.That(Backend.Requests.Single().Headers["Authorization"], Does.Contain(BackendKey), "the backend key was in use");
    }

    [Test]
    public async Task Credentials_ClientKeyInThePrompt_NeverStored()
    {
        // A configured key has no recognisable shape: only the key itself can say what to hide.
        Backend.Handler = context => FakeBackend.Json(context, 200, """{"id":"c4","object":"chat.completion","created":1,"model":"m","choices":[]}""");

        var (_, _, id) = await PostAsync($$"""{"model":"m","messages":[{"role":"user","content":"why is {{ClientKey}} refused elsewhere?"}]}""");
        await RowsAsync(id);

        var bytes = DatabaseBytes();
        Assert.That(bytes, Does.Contain(id), "the search reads what was written");
        Assert.That(bytes, Does.Not.Contain(ClientKey));
    }
}
