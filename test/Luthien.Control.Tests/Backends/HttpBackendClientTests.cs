using System.Net;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;

namespace Luthien.Control.Tests.Backends;

public class HttpBackendClientTests
{
    [TestCase("http://h/v1", "chat/completions", null, "http://h/v1/chat/completions")]
    [TestCase("http://h/v1/", "models", "?limit=2", "http://h/v1/models?limit=2")]
    [TestCase("http://h/openai/v1?api-version=1", "models", "?x=1", "http://h/openai/v1/models?api-version=1&x=1")]
    public void BuildUri_BaseAndPath_Joins(string baseUrl, string path, string? query, string expected)
    {
        Assert.That(HttpBackendClient.BuildUri(new Uri(baseUrl), path, query).ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void BuildUri_SameBaseAndPathAgain_ReusesTheUriAndOtherTargetsStayCorrect()
    {
        var first = new Uri("http://one/v1");
        var second = new Uri("http://two/v1");

        var a = HttpBackendClient.BuildUri(first, "chat/completions", null);
        var b = HttpBackendClient.BuildUri(first, "chat/completions", null);
        var c = HttpBackendClient.BuildUri(second, "chat/completions", null);
        var d = HttpBackendClient.BuildUri(first, "models", null);
        var e = HttpBackendClient.BuildUri(first, "chat/completions", "?x=1");

        Assert.That(b, Is.SameAs(a));
        Assert.That(c.ToString(), Is.EqualTo("http://two/v1/chat/completions"));
        Assert.That(d.ToString(), Is.EqualTo("http://one/v1/models"));
        Assert.That(e.ToString(), Is.EqualTo("http://one/v1/chat/completions?x=1"));
    }

    [Test]
    public void BuildUri_NoBackend_Throws502()
    {
        var ex = Assert.Throws<BackendException>(() => HttpBackendClient.BuildUri(null, "models", null));

        Assert.That(ex!.StatusCode, Is.EqualTo(502));
    }

    [Test]
    public void BuildRequest_ClientCredentials_AreReplacedByBackendKey()
    {
        var transaction = TestTransactions.ChatWithText("hi", ("Authorization", "Bearer client-key"), ("api-key", "client-key"), ("OpenAI-Beta", "x"), ("Connection", "keep-alive"));

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("http://h/v1"), ApiKey = "backend-key" });

        Assert.That(request.Headers.Authorization?.ToString(), Is.EqualTo("Bearer backend-key"));
        Assert.That(request.Headers.Contains("api-key"), Is.False);
        Assert.That(request.Headers.GetValues("OpenAI-Beta"), Is.EqualTo(new[] { "x" }));
        Assert.That(request.Headers.Contains("Connection"), Is.False);
    }

    [Test]
    public void BuildRequest_TransactionKeyAndUrl_OverrideConfigured()
    {
        var transaction = TestTransactions.ChatWithText("hi");
        transaction.Request.BackendApiKey = "override-key";
        transaction.Request.BackendUrl = new Uri("http://other/v2");

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("http://h/v1"), ApiKey = "backend-key" });

        Assert.That(request.Headers.Authorization?.Parameter, Is.EqualTo("override-key"));
        Assert.That(request.RequestUri, Is.EqualTo(new Uri("http://other/v2/chat/completions")));
    }

    [TestCase(RequestKind.ChatCompletion, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", null, "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")]
    [TestCase(RequestKind.ChatCompletion, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}""", "2025-04-01-preview", "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-04-01-preview")]
    [TestCase(RequestKind.Completion, """{"model":"davinci","prompt":"hi"}""", null, "https://res.openai.azure.com/openai/deployments/davinci/completions?api-version=2024-10-21")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", null, "https://res.openai.azure.com/openai/v1/responses")]
    [TestCase(RequestKind.Responses, """{"model":"gpt-4o","input":"hi"}""", "2025-04-01-preview", "https://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview")]
    public void BuildRequest_AzureBackend_AzurePathVersionAndApiKey(RequestKind kind, string body, string? clientVersion, string expected)
    {
        var transaction = new Transaction(TransactionRequest.Parse(kind, Encoding.UTF8.GetBytes(body), new HttpHeaderDictionary { ["api-key"] = "client-key", ["Authorization"] = "Bearer client-key" }));
        transaction.Request.ApiVersion = clientVersion;

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("https://res.openai.azure.com/openai"), ApiKey = "backend-key" });

        Assert.That(request.RequestUri!.ToString(), Is.EqualTo(expected));
        Assert.That(request.Headers.GetValues("api-key"), Is.EqualTo(new[] { "backend-key" }));
        Assert.That(request.Headers.Authorization, Is.Null);
    }

    [TestCase("https://res.openai.azure.com")]
    [TestCase("https://res.openai.azure.com/openai/")]
    public void BuildRequest_AzureBackendPassthrough_BelowOpenAiRootQueryKept(string baseUrl)
    {
        var transaction = new Transaction(TransactionRequest.ForPassthrough("GET", "models", "?api-version=2024-10-21", null, null));

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri(baseUrl), ApiKey = "backend-key" });

        Assert.That(request.RequestUri!.ToString(), Is.EqualTo("https://res.openai.azure.com/openai/models?api-version=2024-10-21"));
        Assert.That(request.Headers.GetValues("api-key"), Is.EqualTo(new[] { "backend-key" }));
    }

    [Test]
    public void BuildRequest_AzureBackendConfiguredVersion_UsedWhenClientSentNone()
    {
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.Responses, """{"model":"m","input":"hi"}"""u8));

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("http://h/"), Style = BackendStyle.Azure, ApiVersion = "2025-04-01-preview" });

        Assert.That(request.RequestUri!.ToString(), Is.EqualTo("http://h/openai/responses?api-version=2025-04-01-preview"));
    }

    [Test]
    public void BuildRequest_AzureBackendModelNotADeployment_Throws400()
    {
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.ChatCompletion, """{"model":"../x","messages":[{"role":"user","content":"hi"}]}"""u8));

        var ex = Assert.Throws<InvalidRequestException>(() => HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("http://h/"), Style = BackendStyle.Azure }));

        Assert.That(ex!.Param, Is.EqualTo("model"));
    }

    [Test]
    public void BuildRequest_OpenAiBackendClientApiVersion_NotSent()
    {
        var transaction = new Transaction(TransactionRequest.Parse(RequestKind.Completion, """{"model":"m","prompt":"hi"}"""u8));
        transaction.Request.ApiVersion = "2024-10-21";

        using var request = HttpBackendClient.BuildRequest(transaction, new BackendOptions { BaseUrl = new Uri("http://h/v1"), ApiKey = "k" });

        Assert.That(request.RequestUri!.ToString(), Is.EqualTo("http://h/v1/completions"));
        Assert.That(request.Headers.Authorization?.ToString(), Is.EqualTo("Bearer k"));
    }

    [Test]
    public async Task SendAsync_JsonAnswer_IsBuffered()
    {
        var client = CreateClient(_ => new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent("""{"id":"x","vendor":1}""", Encoding.UTF8, "application/json"),
        });
        var transaction = TestTransactions.ChatWithText("hi");

        await client.SendAsync(transaction, default);

        Assert.That(transaction.Response.StatusCode, Is.EqualTo(200));
        Assert.That(Encoding.UTF8.GetString(transaction.Response.Body.Span), Is.EqualTo("""{"id":"x","vendor":1}"""));
    }

    [Test]
    public void SendAsync_ConnectionRefused_Throws502()
    {
        var client = CreateClient(_ => throw new HttpRequestException(HttpRequestError.ConnectionError, "refused"));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await client.SendAsync(TestTransactions.ChatWithText("hi"), default));

        Assert.That(ex!.StatusCode, Is.EqualTo(502));
        Assert.That(ex.Code, Is.EqualTo("backend_unavailable"));
    }

    [Test]
    public async Task SendAsync_NoHeadersBeforeTimeout_Throws504()
    {
        var time = new FakeTimeProvider();
        var received = new TaskCompletionSource();
        var client = CreateClient(
            async (_, ct) =>
            {
                received.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
                return new HttpResponseMessage(HttpStatusCode.OK);
            },
            time);

        var send = client.SendAsync(TestTransactions.ChatWithText("hi"), default).AsTask();
        await received.Task;
        time.Advance(TimeSpan.FromSeconds(61));

        var ex = Assert.ThrowsAsync<BackendException>(async () => await send);
        Assert.That(ex!.StatusCode, Is.EqualTo(504));
        Assert.That(ex.Code, Is.EqualTo("backend_timeout"));
    }

    private static HttpBackendClient CreateClient(Func<HttpRequestMessage, HttpResponseMessage> respond) =>
        CreateClient((request, _) => Task.FromResult(respond(request)), new FakeTimeProvider());

    private static HttpBackendClient CreateClient(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond, TimeProvider time)
    {
        var options = Substitute.For<IOptionsMonitor<LuthienOptions>>();
        options.CurrentValue.Returns(new LuthienOptions { Backend = { BaseUrl = new Uri("http://backend.test/v1") } });
        return new HttpBackendClient(new BackendHttp(new DelegateHandler(respond)), options, Substitute.For<IStreamingResponseReader>(), time, NullLogger<HttpBackendClient>.Instance);
    }

    private sealed class DelegateHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => respond(request, cancellationToken);
    }
}
