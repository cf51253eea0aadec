namespace Luthien.Control;

/// <summary>What an <see cref="OutputEvent"/> carries, whatever API the answer came in.</summary>
public enum OutputKind
{
    /// <summary>Answer text (chat <c>content</c>, a completion's <c>text</c>, a Responses <c>output_text</c>).</summary>
    Text,

    /// <summary>The model's refusal text.</summary>
    Refusal,

    /// <summary>Reasoning text the backend shows (a reasoning summary, <c>reasoning_content</c>).</summary>
    Reasoning,

    /// <summary>The transcript of audio output.</summary>
    AudioTranscript,

    /// <summary>A tool call starts (or, in a stream, a piece of its name or id arrives): <see cref="OutputEvent.ToolName"/>.</summary>
    ToolCall,

    /// <summary>Arguments of a tool call (in a stream, a fragment of them).</summary>
    ToolArguments,

    /// <summary>The slot ends: <see cref="OutputEvent.FinishReason"/>.</summary>
    Finish,

    /// <summary>The backend reports token usage.</summary>
    Usage,
}
