namespace Luthien.Control.AspNetCore.Tests.Infrastructure;

/// <summary>The three policed APIs, as tests name them.</summary>
public enum ModelApi
{
    /// <summary><c>/chat/completions</c>.</summary>
    Chat,

    /// <summary><c>/responses</c>.</summary>
    Responses,

    /// <summary>Legacy <c>/completions</c> (no tools, no refusal, no reasoning).</summary>
    Completions,
}

/// <summary>A tool call the scripted model makes: the tool's name and its arguments in the pieces they stream in.</summary>
internal sealed record ScriptedCall(string Name, params string[] ArgumentDeltas)
{
    public string Arguments => string.Concat(ArgumentDeltas);
}

/// <summary>
/// One assistant turn for <see cref="ScriptedModel"/>: each kind of text in the deltas it streams in (a buffered answer
/// holds them joined). What an API cannot carry is left out of its answer (legacy completions: text only; chat: no reasoning).
/// </summary>
internal sealed record ScriptedTurn
{
    /// <summary>A key-like secret the model says (matches <c>sk-[A-Za-z0-9]{20,}</c>).</summary>
    public const string Secret = "sk-Zq7Xw2Lm9Rt4Yb8Nc3Vd6Hf1Jk5Pq0Ws";

    /// <summary>
    /// The pieces of <see cref="Secret"/> as <see cref="SayingSecret"/> streams them: none may reach a client whose
    /// answer was redacted or blocked, as text, JSON or logprob bytes.
    /// </summary>
    public static readonly IReadOnlyList<string> SecretFragments = ["Zq7Xw2Lm9R", "t4Yb8Nc3Vd6Hf1", "Jk5Pq0Ws"];

    public IReadOnlyList<string> Text { get; init; } = [];

    public IReadOnlyList<string>? Refusal { get; init; }

    public IReadOnlyList<string>? Reasoning { get; init; }

    /// <summary>The tool calls, in order (ids <c>call_scripted1</c>, <c>call_scripted2</c>, …).</summary>
    public IReadOnlyList<ScriptedCall> Calls { get; init; } = [];

    /// <summary>One tool call (the first of <see cref="Calls"/>).</summary>
    public ScriptedCall? Call
    {
        get => Calls.Count > 0 ? Calls[0] : null;
        init => Calls = value is null ? [] : [value];
    }

    /// <summary>Whether the calls come before the text (and refusal), instead of after.</summary>
    public bool CallsFirst { get; init; }

    /// <summary>Deltas saying <paramref name="before"/>, the secret (split across four deltas), then <paramref name="after"/>.</summary>
    public static string[] SayingSecret(string before, string after) => [before + "s", "k-Zq7Xw2Lm9R", "t4Yb8Nc3Vd6Hf1", "Jk5Pq0Ws" + after];
}
