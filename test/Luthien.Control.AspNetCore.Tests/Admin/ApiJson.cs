using System.Text.Json;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>Reads the admin API's JSON.</summary>
internal static class ApiJson
{
    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response)
    {
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    /// <summary>The <c>error</c> object, checked to have the OpenAI envelope's four fields.</summary>
    public static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        var error = (await ReadAsync(response)).GetProperty("error");
        Assert.That(error.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "message", "type", "param", "code" }));
        return error;
    }
}
