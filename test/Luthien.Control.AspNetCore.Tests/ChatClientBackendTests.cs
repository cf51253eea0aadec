using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests;

/// <summary>
/// What the endpoints do with an IChatClient backend (<c>UseChatClientBackend</c>) beyond the chat acceptance tests,
/// which run with it too (<see cref="BackendKind.ChatClient"/>): what it refuses, and its errors on the wire.
/// </summary>
public class ChatClientBackendTests
{
    /// <summary>Sends one request to an app whose backend is an IChatClient over a fake backend answering <paramref name="answer"/>.</summary>
    private static async Task<(int Status, JsonNode? Error, int BackendRequests)> SendAsync(
        HttpMethod method, string path, string? body = null, Func<Microsoft.AspNetCore.Http.HttpContext, Task>? answer = null)
    {
        await using var backend = await FakeBackend.StartAsync();
        backend.Handler = answer ?? backend.Handler;
        await using var app = await LuthienTestHost.StartAsync([], luthien => BackendKinds.Use(luthien, BackendKind.ChatClient, backend.BaseUrl));
        using var http = app.CreateClient();
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], backend.Requests.Count);
    }

    [TestCase("/v1/responses", """{"model":"gpt-4o","input":"hi"}""", "Responses API")]
    [TestCase("/v1/responses", """{"model":"gpt-4o","input":"hi","stream":true}""", "Responses API")]
    [TestCase("/v1/completions", """{"model":"gpt-4o","prompt":"hi"}""", "Legacy completions")]
    [TestCase("/openai/deployments/gpt-4o/completions?api-version=2024-10-21", """{"prompt":"hi"}""", "Legacy completions")]
    public async Task Post_ApiOtherThanChat_404NotFoundNamingTheSettingAndBackendNeverCalled(string path, string body, string named)
    {
        var (status, error, backendRequests) = await SendAsync(HttpMethod.Post, path, body);

        Assert.That(status, Is.EqualTo(404));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("not_found"));
        Assert.That(error["message"]!.GetValue<string>(), Does.Contain(named).And.Contain("UseChatClientBackend"));
        Assert.That(backendRequests, Is.Zero);
    }

    [TestCase("GET", "/v1/models")]
    [TestCase("POST", "/v1/embeddings")]
    public async Task PassThroughRoute_404NotFoundNamingTheSettingAndBackendNeverCalled(string method, string path)
    {
        var (status, error, backendRequests) = await SendAsync(new HttpMethod(method), path, method == "POST" ? """{"model":"e","input":"hi"}""" : null);

        Assert.That(status, Is.EqualTo(404));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("not_found"));
        Assert.That(error["message"]!.GetValue<string>(), Does.Contain("UseChatClientBackend"));
        Assert.That(backendRequests, Is.Zero);
    }

    [Test]
    public async Task Post_MoreThanOneChoice_400InvalidRequestNamingN()
    {
        var (status, error, backendRequests) = await SendAsync(HttpMethod.Post, "/v1/chat/completions", """{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.That(status, Is.EqualTo(400));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("invalid_request"));
        Assert.That(error["param"]!.GetValue<string>(), Is.EqualTo("n"));
        Assert.That(backendRequests, Is.Zero);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Post_BackendAnswersAnError_502BackendUnavailableWithoutItsBody(bool stream)
    {
        var (status, error, _) = await SendAsync(
            HttpMethod.Post,
            "/v1/chat/completions",
            $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""",
            c => FakeBackend.Json(c, 500, """{"error":{"message":"internal detail sk-secret123","type":"server_error"}}"""));

        Assert.That(status, Is.EqualTo(502));
        Assert.That(error!["code"]!.GetValue<string>(), Is.EqualTo("backend_unavailable"));
        Assert.That(error.ToJsonString(), Does.Not.Contain("internal detail").And.Not.Contain("sk-secret"));
    }
}
