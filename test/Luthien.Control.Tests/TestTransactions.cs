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

    /// <summary>A Responses API request (<c>input</c> "hi" unless given).</summary>
    public static Transaction Responses(bool stream = true, string? json = null) =>
        new(TransactionRequest.Parse(RequestKind.Responses, Encoding.UTF8.GetBytes(json ?? $$"""{"model":"gpt-4o","stream":{{(stream ? "true" : "false")}},"input":"hi"}""")));

    /// <summary>A legacy completion request (<c>prompt</c> "hi" unless given).</summary>
    public static Transaction Completion(bool stream = true, string? json = null) =>
        new(TransactionRequest.Parse(RequestKind.Completion, Encoding.UTF8.GetBytes(json ?? $$"""{"model":"gpt-3.5-turbo-instruct","stream":{{(stream ? "true" : "false")}},"prompt":"hi"}""")));

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
