using System.Text;
using System.Text.Json.Nodes;
using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>How a client reaches a policed API.</summary>
public enum RouteStyle
{
    /// <summary><c>/v1/{api}</c>, key as <c>Authorization: Bearer</c>.</summary>
    OpenAI,

    /// <summary><c>/openai/deployments/{deployment}/{api}?api-version=…</c> (no model in the body), key as <c>api-key</c>.</summary>
    AzureDeployment,

    /// <summary><c>/openai/v1/{api}</c>, key as <c>api-key</c>.</summary>
    AzureV1,

    /// <summary>Responses only: <c>/openai/responses?api-version=…</c> (model in the body), key as <c>api-key</c>.</summary>
    AzureResponses,
}

/// <summary>How a client presents its key.</summary>
public enum Credential
{
    /// <summary>No key at all.</summary>
    None,

    /// <summary><c>Authorization: Bearer client-key-1</c>.</summary>
    Bearer,

    /// <summary><c>api-key: client-key-1</c>.</summary>
    ApiKey,

    /// <summary>A key that is not the client's, as <c>Authorization: Bearer</c>.</summary>
    WrongBearer,

    /// <summary>A key that is not the client's, as <c>api-key</c>.</summary>
    WrongApiKey,
}

/// <summary>Requests of the coverage matrix, and the cells (API × streamed × route) they are sent in.</summary>
internal static class MatrixRequests
{
    public static readonly ModelApi[] Apis = [ModelApi.Chat, ModelApi.Responses, ModelApi.Completions];

    /// <summary>Every API × buffered/streamed × route style that reaches it (<see cref="RouteStyle.AzureResponses"/> only with Responses).</summary>
    public static IEnumerable<TestCaseData> Cells(params RouteStyle[] routes) => CellsOf(Apis, routes);

    public static IEnumerable<TestCaseData> CellsOf(IEnumerable<ModelApi> apis, params RouteStyle[] routes)
    {
        if (routes.Length == 0)
        {
            routes = [RouteStyle.OpenAI, RouteStyle.AzureDeployment, RouteStyle.AzureV1];
        }

        foreach (var api in apis)
        {
            foreach (var stream in new[] { false, true })
            {
                foreach (var route in routes.Where(r => r != RouteStyle.AzureResponses || api == ModelApi.Responses))
                {
                    yield return new TestCaseData(api, stream, route);
                }
            }
        }
    }

    /// <summary>The request target of <paramref name="api"/> by <paramref name="route"/>.</summary>
    public static string Target(ModelApi api, RouteStyle route, string deployment = "gpt-4o")
    {
        var tail = api switch { ModelApi.Chat => "chat/completions", ModelApi.Responses => "responses", _ => "completions" };
        var version = api == ModelApi.Responses ? "2025-04-01-preview" : "2024-10-21";
        return route switch
        {
            RouteStyle.OpenAI => "/v1/" + tail,
            RouteStyle.AzureDeployment => $"/openai/deployments/{deployment}/{tail}?api-version={version}",
            RouteStyle.AzureV1 => "/openai/v1/" + tail,
            _ => $"/openai/responses?api-version={version}",
        };
    }

    /// <summary>
    /// A request body as that API's clients send it: <paramref name="text"/> as the user's message, Responses input or
    /// legacy prompt; tools for chat and Responses; <c>model</c> unless the route's deployment names it.
    /// </summary>
    public static JsonObject Body(ModelApi api, RouteStyle route, bool stream, string text = "hi", string model = "gpt-4o")
    {
        var body = new JsonObject();
        if (route != RouteStyle.AzureDeployment)
        {
            body["model"] = model;
        }

        switch (api)
        {
            case ModelApi.Chat:
                body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text });
                body["tools"] = new JsonArray(Tool("get_weather"), Tool("delete_files"));
                break;
            case ModelApi.Responses:
                body["input"] = text;
                body["tools"] = new JsonArray(
                    new JsonObject { ["type"] = "function", ["name"] = "get_weather", ["parameters"] = new JsonObject { ["type"] = "object" } },
                    new JsonObject { ["type"] = "function", ["name"] = "delete_files", ["parameters"] = new JsonObject { ["type"] = "object" } });
                break;
            default:
                body["prompt"] = text;
                break;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        return body;

        static JsonObject Tool(string name) => new()
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name, ["parameters"] = new JsonObject { ["type"] = "object" } },
        };
    }

    /// <summary>The credential a client of that route sends by default: OpenAI's clients a bearer token, Azure's an <c>api-key</c>.</summary>
    public static Credential DefaultCredential(RouteStyle route) => route == RouteStyle.OpenAI ? Credential.Bearer : Credential.ApiKey;

    public static HttpRequestMessage Request(string target, JsonObject body, Credential credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        switch (credential)
        {
            case Credential.Bearer:
                request.Headers.Add("Authorization", "Bearer " + CoverageHosts.ClientKey);
                break;
            case Credential.ApiKey:
                request.Headers.Add("api-key", CoverageHosts.ClientKey);
                break;
            case Credential.WrongBearer:
                request.Headers.Add("Authorization", "Bearer not-the-key");
                break;
            case Credential.WrongApiKey:
                request.Headers.Add("api-key", "not-the-key");
                break;
        }

        return request;
    }

    /// <summary>Sends a request and reads the whole answer.</summary>
    public static async Task<(int Status, string ContentType, string Body)> SendAsync(LuthienTestHost host, string target, JsonObject body, Credential credential)
    {
        using var http = host.CreateClient();
        using var request = Request(target, body, credential);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", Encoding.UTF8.GetString(bytes));
    }
}
