using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>Settings and small values shared by the converters between Microsoft.Extensions.AI and OpenAI chat JSON.</summary>
internal static class WireJson
{
    /// <summary>
    /// Compact JSON with relaxed escaping, as the core writes client JSON: text is not rewritten into <c>\u</c> escapes
    /// needlessly (the output is JSON on the wire, never HTML). A lone surrogate is written as U+FFFD.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <summary>
    /// For values written as JSON text inside the JSON (function arguments, function results): M.E.AI's own options
    /// (<see cref="AIJsonUtilities.DefaultOptions"/>, whose resolver knows its types), compact and relaxed-escaped.
    /// </summary>
    public static readonly JsonSerializerOptions SerializerOptions = new(AIJsonUtilities.DefaultOptions)
    {
        WriteIndented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A fresh chat completion id in OpenAI's shape, <c>chatcmpl-</c> and 24 random alphanumerics.</summary>
    public static string NewCompletionId() => "chatcmpl-" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);

    /// <summary>A fresh tool call id, for a call whose JSON carried none (M.E.AI requires one).</summary>
    public static string NewCallId() => "call_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 24);

    /// <summary>The <c>created</c> value: integer Unix seconds (official clients refuse anything else).</summary>
    public static long UnixSeconds(DateTimeOffset? createdAt, TimeProvider timeProvider) =>
        (createdAt ?? timeProvider.GetUtcNow()).ToUnixTimeSeconds();

    /// <summary>A <c>model</c> from JSON: the empty string the library writes for "no model" reads back as none.</summary>
    public static string? ModelOrNull(string? model) => string.IsNullOrEmpty(model) ? null : model;
}
