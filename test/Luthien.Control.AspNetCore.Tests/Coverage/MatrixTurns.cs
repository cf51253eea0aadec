using Luthien.Control.AspNetCore.Tests.Infrastructure;

namespace Luthien.Control.AspNetCore.Tests.Coverage;

/// <summary>The assistant turns the matrix scripts.</summary>
internal static class MatrixTurns
{
    /// <summary>An allowed call: <c>get_weather</c> with harmless arguments.</summary>
    public static readonly ScriptedTurn AllowedCall = new() { Text = ["Let me ", "look."], Call = new ScriptedCall("get_weather", "{\"city\":", "\"Paris\"}") };

    /// <summary>A call of a tool that is not allowed.</summary>
    public static readonly ScriptedTurn DisallowedCall = new() { Text = ["Let me ", "look."], Call = new ScriptedCall("delete_files", "{\"path\":", "\"/etc/passwd\"}") };

    /// <summary>A call of an allowed tool whose arguments a rule blocks.</summary>
    public static readonly ScriptedTurn BlockedArguments = new() { Text = ["Let me ", "look."], Call = new ScriptedCall("get_weather", "{\"city\":\"x'; DROP", " TABLE users;--\"}") };

    /// <summary>A full turn: reasoning, text and a call (each API carries what it can of it).</summary>
    public static readonly ScriptedTurn Full = new()
    {
        Reasoning = ["Thinking ", "it over."],
        Text = ["Here ", "you ", "are: ", "caf\u00e9 \ud83d\ude00."],
        Call = new ScriptedCall("get_weather", "{\"city\":", "\"Z\u00fcrich\"}"),
    };

    internal static ScriptedCall SecretCall() => new("get_weather", ["{\"city\":\"Par", "is\",\"token\":\"s", "k-Zq7Xw2Lm9R", "t4Yb8Nc3Vd6Hf1", "Jk5Pq0Ws\",\"unit\":\"C\"}"]);

    /// <summary>A turn saying the secret in one channel (and a short text beside the non-text ones).</summary>
    internal static ScriptedTurn SecretIn(Channel channel) => channel switch
    {
        Channel.Text => new ScriptedTurn { Text = ScriptedTurn.SayingSecret("The key is ", " and that is all.") },
        Channel.Refusal => new ScriptedTurn { Refusal = ScriptedTurn.SayingSecret("I can't share ", " and that is all.") },
        Channel.Reasoning => new ScriptedTurn { Reasoning = ScriptedTurn.SayingSecret("The user wants ", " and that is all."), Text = ["Done."] },
        _ => new ScriptedTurn { Text = ["Checking."], Call = SecretCall() },
    };
}
