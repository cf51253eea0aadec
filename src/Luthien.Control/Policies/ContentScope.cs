namespace Luthien.Control.Streaming;

/// <summary>
/// Which text a <see cref="ResponseContentPolicy"/> reads (policy file: <c>scope</c>, a list of the snake_case names).
/// Each kind is a channel of its own per slot (per call for tool arguments): a match is found within one channel, never
/// across two.
/// </summary>
[Flags]
public enum ContentScope
{
    /// <summary>Nothing (not a valid scope on its own).</summary>
    None = 0,

    /// <summary>Answer text (<c>text</c>): chat <c>content</c>, a completion's <c>text</c>, a Responses <c>output_text</c>.</summary>
    Text = 1,

    /// <summary>The model's refusal text (<c>refusal</c>).</summary>
    Refusal = 2,

    /// <summary>Tool-call arguments (<c>tool_arguments</c>): a function call's JSON arguments, a custom tool's input.</summary>
    ToolArguments = 4,

    /// <summary>Reasoning text the backend shows (<c>reasoning</c>): <c>reasoning_content</c>, a reasoning summary.</summary>
    Reasoning = 8,

    /// <summary>The transcript of audio output (<c>audio_transcript</c>).</summary>
    AudioTranscript = 16,

    /// <summary>All text the model produces (the default).</summary>
    All = Text | Refusal | ToolArguments | Reasoning | AudioTranscript,
}
