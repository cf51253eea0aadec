using System.Text.Json.Nodes;

namespace Luthien.Control.Tests.Policies.Conditions;

public class TransactionPathTests
{
    private static readonly Transaction Transaction = TestTransactions.Chat(
        """{"model":"gpt-4o","temperature":0.5,"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}""",
        ("X-Team", "blue"),
        ("Authorization", "Bearer secret"));

    [TestCase("request.payload.model", "\"gpt-4o\"")]
    [TestCase("request.payload.temperature", "0.5")]
    [TestCase("request.payload.messages.1.role", "\"user\"")]
    [TestCase("request.headers.X-Team", "\"blue\"")]
    [TestCase("request.method", "\"POST\"")]
    [TestCase("request.path", "\"chat/completions\"")]
    public void Resolve_ExistingPath_ReturnsValue(string path, string expectedJson)
    {
        var value = TransactionPath.Resolve(Transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }

    [TestCase("request.payload.messages.9.role")]
    [TestCase("request.payload.model.deeper")]
    [TestCase("request.headers.Authorization")]
    [TestCase("response.payload.id")]
    [TestCase("data.missing")]
    public void Resolve_MissingOrSecret_ReturnsNull(string path)
    {
        Assert.That(TransactionPath.Resolve(Transaction, path), Is.Null);
    }

    [Test]
    public void Resolve_DataValue_ReturnsIt()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Data.Set(new TransactionKey<int>("score"), 7);

        Assert.That(TransactionPath.Resolve(transaction, "data.score")?.GetValue<int>(), Is.EqualTo(7));
    }

    [Test]
    public void Resolve_ResponsePayload_ReadsBufferedBody()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"choices":[{"finish_reason":"stop"}]}"""u8.ToArray(), "application/json");

        Assert.That(TransactionPath.Resolve(transaction, "response.payload.choices.0.finish_reason")?.GetValue<string>(), Is.EqualTo("stop"));
        Assert.That(TransactionPath.Resolve(transaction, "response.status_code")?.GetValue<int>(), Is.EqualTo(200));
    }

    [TestCase("model")]
    [TestCase("request.")]
    [TestCase("session.user")]
    public void Validate_BadPath_Throws(string path)
    {
        Assert.Throws<ArgumentException>(() => TransactionPath.Validate(path));
    }

    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.payload.input", "\"hi\"")]
    [TestCase(RequestKind.Completion, """{"model":"gpt-4o","prompt":["a"]}""", "request.payload.prompt.0", "\"a\"")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.payload.model", "\"gpt-4o\"")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "request.path", "\"responses\"")]
    public void Resolve_OtherApis_ReadsTheirPayload(RequestKind kind, string body, string path, string expectedJson)
    {
        var transaction = new Transaction(TransactionRequest.Parse(kind, System.Text.Encoding.UTF8.GetBytes(body)));

        var value = TransactionPath.Resolve(transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }

    [TestCase("openai_request.payload.model", "\"gpt-4o\"")]
    [TestCase("openai_request.payload.temperature", "0.5")]
    [TestCase("openai_request.payload.messages.1.content", "\"u\"")]
    [TestCase("openai_request.api_endpoint", "\"chat/completions\"")]
    public void Resolve_OpenAiRequestAliasOnChat_ReadsTheRequest(string path, string expectedJson)
    {
        var value = TransactionPath.Resolve(Transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }

    [Test]
    public void Resolve_OpenAiRequestApiEndpointAfterSetBackend_IsTheBackendUrl()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Request.BackendUrl = new Uri("https://api.openai.com/v1/");

        Assert.That(TransactionPath.Resolve(transaction, "openai_request.api_endpoint")?.GetValue<string>(), Is.EqualTo("https://api.openai.com/v1/"));
    }

    [Test]
    public void Resolve_OpenAiResponseAliasOnChat_ReadsTheBufferedAnswer()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Response.SetBody(200, """{"usage":{"total_tokens":12}}"""u8.ToArray(), "application/json");

        Assert.That(TransactionPath.Resolve(transaction, "openai_response.payload.usage.total_tokens")?.GetValue<int>(), Is.EqualTo(12));
    }

    [TestCase("openai_request.payload.model")]
    [TestCase("openai_request.api_endpoint")]
    [TestCase("openai_response.payload.id")]
    public void Resolve_OpenAiAliasOnOtherApis_IsNullAsInLuthienControl(string path)
    {
        // luthien_control parses chat completions only: every other request is a raw one there, with no openai_request.
        var responses = TestTransactions.Responses(stream: false);
        responses.Response.SetBody(200, """{"id":"resp_1"}"""u8.ToArray(), "application/json");

        Assert.That(TransactionPath.Resolve(responses, path), Is.Null);
        Assert.That(TransactionPath.Resolve(TestTransactions.Passthrough(), path), Is.Null);
    }

    [TestCase("raw_request.method", "\"GET\"")]
    [TestCase("raw_request.path", "\"models\"")]
    [TestCase("raw_request.headers.X-Team", "\"blue\"")]
    [TestCase("raw_request.headers.x-team", "\"blue\"")]
    public void Resolve_RawRequestAliasOnPassthrough_ReadsTheRequest(string path, string expectedJson)
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("X-Team", "blue"), ("Authorization", "Bearer secret"));

        var value = TransactionPath.Resolve(transaction, path);

        Assert.That(JsonNode.DeepEquals(value, JsonNode.Parse(expectedJson)), Is.True, value?.ToJsonString());
    }

    [Test]
    public void Resolve_RawRequestAliasOnResponsesApi_ReadsTheRequest()
    {
        Assert.That(TransactionPath.Resolve(TestTransactions.Responses(), "raw_request.path")?.GetValue<string>(), Is.EqualTo("responses"));
    }

    [Test]
    public void Resolve_RawRequestBackendUrl_SetBySetBackendPolicy()
    {
        var transaction = TestTransactions.Passthrough();
        Assert.That(TransactionPath.Resolve(transaction, "raw_request.backend_url"), Is.Null);

        transaction.Request.BackendUrl = new Uri("http://127.0.0.1:6401/v1");

        Assert.That(TransactionPath.Resolve(transaction, "raw_request.backend_url")?.GetValue<string>(), Is.EqualTo("http://127.0.0.1:6401/v1"));
    }

    [TestCase("raw_request.method")]
    [TestCase("raw_request.path")]
    [TestCase("raw_request.headers.X-Team")]
    [TestCase("raw_response.status_code")]
    public void Resolve_RawAliasOnChat_IsNullAsInLuthienControl(string path)
    {
        var transaction = TestTransactions.ChatWithText("hi", ("X-Team", "blue"));
        transaction.Response.SetBody(200, "{}"u8.ToArray(), "application/json");

        Assert.That(TransactionPath.Resolve(transaction, path), Is.Null);
    }

    [Test]
    public void Resolve_RawResponseAlias_ReadsStatusAndHeaders()
    {
        var transaction = TestTransactions.Passthrough();
        transaction.Response.SetBody(404, "{}"u8.ToArray(), "application/json");
        transaction.Response.Headers["x-request-id"] = "req-1";
        transaction.Response.Headers["set-cookie"] = "session=secret";

        Assert.That(TransactionPath.Resolve(transaction, "raw_response.status_code")?.GetValue<int>(), Is.EqualTo(404));
        Assert.That(TransactionPath.Resolve(transaction, "raw_response.headers.x-request-id")?.GetValue<string>(), Is.EqualTo("req-1"));
        Assert.That(TransactionPath.Resolve(transaction, "raw_response.headers.set-cookie"), Is.Null);
        Assert.That(TransactionPath.Resolve(transaction, "raw_response.body"), Is.Null);
    }

    [TestCase("raw_request.headers.Authorization")]
    [TestCase("raw_request.headers.api-key")]
    [TestCase("raw_request.headers.X-Session-Token")]
    [TestCase("request.headers.X-Session-Token")]
    [TestCase("raw_request.api_key")]
    [TestCase("openai_request.api_key")]
    [TestCase("raw_request.body")]
    public void Resolve_CredentialOrBodyThroughAlias_ReturnsNull(string path)
    {
        var passthrough = TestTransactions.Passthrough("GET", "models", ("Authorization", "Bearer secret"), ("api-key", "secret"), ("X-Session-Token", "secret"));
        var chat = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer secret"), ("X-Session-Token", "secret"));

        Assert.That(TransactionPath.Resolve(passthrough, path), Is.Null);
        Assert.That(TransactionPath.Resolve(chat, path), Is.Null);
    }

    [Test]
    public void Resolve_HeaderConfiguredAsCredential_ReturnsNull()
    {
        var transaction = TestTransactions.Passthrough("GET", "models", ("X-Tenant", "acme"));
        transaction.Request.Credentials = CredentialHeaders.Create(["X-Tenant"]);

        Assert.That(TransactionPath.Resolve(transaction, "raw_request.headers.X-Tenant"), Is.Null);
    }

    [TestCase("openai_request.payload.model")]
    [TestCase("openai_response.payload.usage.total_tokens")]
    [TestCase("raw_request.headers.x-team")]
    [TestCase("raw_response.status_code")]
    [TestCase("openai_request.payload.nonexistent")]
    public void Validate_LuthienControlAlias_Accepted(string path)
    {
        Assert.DoesNotThrow(() => TransactionPath.Validate(path));
    }

    [TestCase("openai_request.api_key", "credentials")]
    [TestCase("raw_request.api_key", "credentials")]
    [TestCase("raw_request.headers.authorization", "credential")]
    [TestCase("request.headers.Cookie", "credential")]
    [TestCase("transaction_id.hex", "luthien_control transaction field")]
    [TestCase("request_type.value", "luthien_control transaction field")]
    public void Validate_CredentialOrUnexposedField_ThrowsSayingWhy(string path, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => TransactionPath.Validate(path));

        Assert.That(ex!.Message, Does.Contain(expected));
    }
}
