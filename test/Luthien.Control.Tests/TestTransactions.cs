using System.Text;

namespace Luthien.Control.Tests;

/// <summary>Builds transactions for tests.</summary>
internal static class TestTransactions
{
    public static Transaction Chat(string json, params (string Name, string Value)[] headers)
    {
        var h = new HttpHeaderDictionary();
        foreach (var (name, value) in headers)
        {
            h[name] = value;
        }

        return new Transaction(TransactionRequest.Parse(RequestKind.ChatCompletion, Encoding.UTF8.GetBytes(json), h));
    }

    public static Transaction ChatWithText(string userText, params (string Name, string Value)[] headers) =>
        Chat($$"""{"model":"gpt-4o","messages":[{"role":"user","content":{{System.Text.Json.JsonSerializer.Serialize(userText)}}}]}""", headers);

    public static Transaction Passthrough(string method = "GET", string path = "models", params (string Name, string Value)[] headers)
    {
        var h = new HttpHeaderDictionary();
        foreach (var (name, value) in headers)
        {
            h[name] = value;
        }

        return new Transaction(TransactionRequest.ForPassthrough(method, path, null, h, null));
    }
}
