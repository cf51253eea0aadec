using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// The texts of one choice as the JSON states them: <c>content</c>, <c>refusal</c> and <c>reasoning_content</c>, each
/// <see langword="null"/> when absent.
/// </summary>
/// <param name="Content">The answer's text (<see cref="TextContent"/>).</param>
/// <param name="Refusal">The refusal (<see cref="ErrorContent"/> with <see cref="RefusalCode"/>, as M.E.AI's OpenAI client gives it).</param>
/// <param name="Reasoning">The reasoning (<see cref="TextReasoningContent"/>).</param>
internal readonly record struct WireTexts(string? Content, string? Refusal = null, string? Reasoning = null)
{
    /// <summary>The <see cref="ErrorContent.ErrorCode"/> of a refusal.</summary>
    public const string RefusalCode = "Refusal";

    /// <summary>Whether a content is a refusal.</summary>
    public static bool IsRefusal(AIContent content) => content is ErrorContent { ErrorCode: RefusalCode };

    /// <summary>A refusal content.</summary>
    public static ErrorContent NewRefusal(string text) => new(text) { ErrorCode = RefusalCode };
}
