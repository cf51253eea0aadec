using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// What the endpoints do with an IChatClient backend (<c>UseChatClientBackend</c>) beyond the chat acceptance tests,
/// which run with it too (<see cref="BackendKind.ChatClient"/>): what it refuses, and its errors on the wire.
/// </summary>
public class ChatClientBackendTests
{
    private FakeBackend _backend = null!;
    private LuthienTestHost _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _backend = await FakeBackend.StartAsync();
        _app = await LuthienTestHost.StartAsync(
            new Dictionary<string, string?> { ["Luthien:Backend:BaseUrl"] = _backend.BaseUrl.ToString() },
            luthien => BackendKinds.Use(luthien, BackendKind.ChatClient, _backend.BaseUrl));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [SetUp]
    public void ResetBackend() => _backend.Reset();

    private async Task<(int Status, JsonNode? Error)> SendAsync(HttpMethod method, string path, string? body = null)
    {
        using var http = _app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]);
    }

    [TestCase("/v1/responses", """{"model":"gpt-4o","input":"hi"}""", "Responses API")]
    [TestCase("/v1/responses", """{"model":"gpt-4o","input":"hi","stream":true}""", "Responses API")]
    [TestCase("/v1/completions", """{"model":"gpt-4o","prompt":"hi"}""", "Legacy completions")]
    [TestCase("/openai/deployments/gpt-4o/completions?api-version=2024-10-21", """{"prompt":"hi"}""", "Legacy completions")]
    public async Task Post_ApiOtherThanChat_404NotFoundNamingTheSettingAndBackendNeverCalled(string path, string body, string named)
    {
        var (status, error) = await SendAsync(HttpMethod.Post, path, body);

        Assert.That(status, Is.EqualTo(404));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("not_found"));
        Assert.That(error["message"]!.GetValue<string>(), Does.Contain(named).And.Contain("UseChatClientBackend"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [TestCase("GET", "/v1/models")]
    [TestCase("POST", "/v1/embeddings")]
    public async Task PassThroughRoute_404NotFoundNamingTheSettingAndBackendNeverCalled(string method, string path)
    {
        var (status, error) = await SendAsync(new HttpMethod(method), path, method == "POST" ? """{"model":"e","input":"hi"}""" : null);

        Assert.That(status, Is.EqualTo(404));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("not_found"));
        Assert.That(error["message"]!.GetValue<string>(), Does.Contain("UseChatClientBackend"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [Test]
    public async Task Post_MoreThanOneChoice_400InvalidRequestNamingN()
    {
        var (status, error) = await SendAsync(HttpMethod.Post, "/v1/chat/completions", """{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(status, Is.EqualTo(400));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("invalid_request"));
        Assert.That(error["param"]!.GetValue<string>(), Is.EqualTo("n"));
        Assert.That(_backend.Requests, Is.Empty);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Post_BackendAnswersAnError_502BackendUnavailableWithoutItsBody(bool stream)
    {
        _backend.Handler = c => FakeBackend.Json(c, 500, """{"error":{"message":"internal detail sk-secret123","type":"server_error"}}""");

        var (status, error) = await SendAsync(HttpMethod.Post, "/v1/chat/completions", $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(status, Is.EqualTo(502));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("backend_unavailable"));
        Assert.That(error.ToJsonString(), Does.Not.Contain("internal detail").And.Not.Contain("sk-secret"));
    }

    [Test]
    public async Task Post_Chat_ModelOfTheRequestReachesTheBackend()
    {
        _backend.Handler = ScriptedModel.Answering(new ScriptedTurn { Text = ["Hi"] });

        using var http = _app.CreateClient();
        using var response = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"my-model","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(JsonNode.Parse(_backend.Requests.Single().Body)!["model"]!.GetValue<string>(), Is.EqualTo("my-model"));
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!["message"]!["content"]!.GetValue<string>(), Is.EqualTo("Hi"));
    }
}
