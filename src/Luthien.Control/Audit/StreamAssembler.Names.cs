using System.Text.Json;

namespace Luthien.Control;

// StreamAssembler: the names and words of the answers it writes.
internal static partial class StreamAssembler
{
    // The answer's own names and words: written as they are when the mask leaves them alone (checked once per mask).
    private static readonly JsonEncodedText ErrorName = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText CreatedName = JsonEncodedText.Encode("created");
    private static readonly JsonEncodedText ModelName = JsonEncodedText.Encode("model");
    private static readonly JsonEncodedText FingerprintName = JsonEncodedText.Encode("system_fingerprint");
    private static readonly JsonEncodedText UsageName = JsonEncodedText.Encode("usage");
    private static readonly JsonEncodedText ObjectName = JsonEncodedText.Encode("object");
    private static readonly JsonEncodedText ChoicesName = JsonEncodedText.Encode("choices");
    private static readonly JsonEncodedText IndexName = JsonEncodedText.Encode("index");
    private static readonly JsonEncodedText TextName = JsonEncodedText.Encode("text");
    private static readonly JsonEncodedText MessageName = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText RoleName = JsonEncodedText.Encode("role");
    private static readonly JsonEncodedText ContentName = JsonEncodedText.Encode("content");
    private static readonly JsonEncodedText RefusalName = JsonEncodedText.Encode("refusal");
    private static readonly JsonEncodedText ToolCallsName = JsonEncodedText.Encode("tool_calls");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText FunctionName = JsonEncodedText.Encode("function");
    private static readonly JsonEncodedText NameName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText ArgumentsName = JsonEncodedText.Encode("arguments");
    private static readonly JsonEncodedText FinishReasonName = JsonEncodedText.Encode("finish_reason");
    private static readonly JsonEncodedText ResponseName = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText OutputTextName = JsonEncodedText.Encode("output_text");
    private static readonly JsonEncodedText ChatCompletion = JsonEncodedText.Encode("chat.completion");
    private static readonly JsonEncodedText TextCompletion = JsonEncodedText.Encode("text_completion");
    private static readonly JsonEncodedText Assistant = JsonEncodedText.Encode("assistant");

    private static readonly JsonEncodedText[] OwnWords =
    [
        ErrorName, IdName, CreatedName, ModelName, FingerprintName, UsageName, ObjectName, ChoicesName, IndexName, TextName,
        MessageName, RoleName, ContentName, RefusalName, ToolCallsName, TypeName, FunctionName, NameName, ArgumentsName,
        FinishReasonName, ResponseName, OutputTextName, ChatCompletion, TextCompletion, Assistant,
    ];
}
