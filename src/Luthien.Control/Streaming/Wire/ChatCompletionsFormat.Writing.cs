using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming;

/// <content>Writing changed, removed and added events back into a choice entry.</content>
internal sealed partial class ChatCompletionsFormat
{
    /// <summary>Writes a changed or removed event of the chunk back into its choice entry.</summary>
    private void WriteBack(JsonObject entry, OutputEvent output)
    {
        var message = entry[_member] as JsonObject;
        switch (output.Kind)
        {
            case OutputKind.Finish:
                entry["finish_reason"] = null;
                break;
            case OutputKind.ToolCall:
                RemoveCall(message, output.ToolIndex);
                break;
            case OutputKind.ToolArguments:
                if (FindCallFunction(message, output.ToolIndex) is { } function)
                {
                    if (output.IsRemoved)
                    {
                        function.Remove(ArgumentsName(function));

                        // A fragment that carried only arguments says nothing once they are gone.
                        if (function.Count == 0 && (output.ToolIndex < 0 || function.Parent?["id"] is null))
                        {
                            RemoveCall(message, output.ToolIndex);
                        }
                    }
                    else
                    {
                        function[ArgumentsName(function)] = output.Text;
                    }
                }

                break;
            case OutputKind.Usage:
                break;
            case OutputKind.Text or OutputKind.Refusal when output.Part >= 0:
                if (message?["content"] is JsonArray parts && output.Part < parts.Count && parts[output.Part] is JsonObject part)
                {
                    if (IsStream && (output.IsRemoved || output.Text.Length == 0))
                    {
                        // Parts are written last to first, so removing one moves none still to write.
                        parts.RemoveAt(output.Part);
                        if (parts.Count == 0)
                        {
                            message.Remove("content");
                        }
                    }
                    else
                    {
                        part[output.Kind == OutputKind.Refusal ? "refusal" : "text"] = output.IsRemoved ? string.Empty : output.Text;
                    }
                }

                break;
            default:
                if (message is not null && TextOwner(message, output.Kind, create: false) is var (owner, name) && owner is not null)
                {
                    if (output.IsRemoved || (IsStream && output.Text.Length == 0))
                    {
                        if (IsStream)
                        {
                            owner.Remove(name);
                        }
                        else
                        {
                            owner[name] = output.Kind == OutputKind.Text ? string.Empty : null;
                        }
                    }
                    else
                    {
                        owner[name] = output.Text;
                    }
                }

                break;
        }
    }

    /// <summary>Adds an event a policy made: text goes after the slot's own text; a finish sets the reason.</summary>
    private void Append(JsonObject entry, OutputEvent output)
    {
        if (output.Kind == OutputKind.Finish)
        {
            entry["finish_reason"] = output.FinishReason;
            return;
        }

        if (output.Text.Length == 0)
        {
            return;
        }

        if (entry[_member] is not JsonObject message)
        {
            entry[_member] = message = [];
        }

        if (output.Kind == OutputKind.ToolArguments)
        {
            AppendArguments(message, entry, output);
            return;
        }

        if (output.Kind == OutputKind.Text && message["content"] is JsonArray parts)
        {
            // Content given as parts: the added text is one more part, after the others.
            parts.Add(new JsonObject { ["type"] = "text", ["text"] = output.Text });
            return;
        }

        var (owner, name) = TextOwner(message, output.Kind, create: true);
        var existing = owner![name] is JsonValue v && v.TryGetValue(out string? text) ? text : string.Empty;
        owner[name] = existing + output.Text;
    }

    /// <summary>
    /// Adds arguments a policy made to their call: after the call's own fragment in this entry, or as a fragment of its
    /// own (<c>{"index", "function": {"arguments"}}</c>, <c>custom.input</c> for a custom tool, <c>function_call</c> for a
    /// legacy call).
    /// </summary>
    private void AppendArguments(JsonObject message, JsonObject entry, OutputEvent output)
    {
        if (FindCallFunction(message, output.ToolIndex) is not { } function)
        {
            var custom = _customCalls?.Contains((ChatChunks.IndexOf(entry), output.ToolIndex)) == true;
            function = [];
            if (output.ToolIndex < 0)
            {
                message["function_call"] = function;
            }
            else
            {
                if (message["tool_calls"] is not JsonArray calls)
                {
                    message["tool_calls"] = calls = [];
                }

                var call = IsStream ? new JsonObject { ["index"] = output.ToolIndex } : new JsonObject { ["type"] = custom ? "custom" : "function" };
                call[custom ? "custom" : "function"] = function;
                calls.Add(call);
            }
        }

        var name = ArgumentsName(function);
        var existing = function[name] is JsonValue v && v.TryGetValue(out string? text) ? text : string.Empty;
        function[name] = existing + output.Text;
    }

    private static (JsonObject? Owner, string Name) TextOwner(JsonObject message, OutputKind kind, bool create)
    {
        switch (kind)
        {
            case OutputKind.Refusal:
                return (message, "refusal");
            case OutputKind.Reasoning:
                return (message, "reasoning_content");
            case OutputKind.AudioTranscript:
                if (message["audio"] is not JsonObject audio)
                {
                    if (!create)
                    {
                        return (null, "transcript");
                    }

                    message["audio"] = audio = [];
                }

                return (audio, "transcript");
            default:
                return (message, "content");
        }
    }

    private JsonObject NewEntry(JsonArray choices, int slot)
    {
        var entry = IsStream
            ? new JsonObject { ["index"] = slot, ["delta"] = new JsonObject(), ["logprobs"] = null, ["finish_reason"] = null }
            : new JsonObject { ["index"] = slot, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, ["finish_reason"] = null };
        choices.Add(entry);
        return entry;
    }


    private JsonObject? FindCallFunction(JsonObject? message, int toolIndex)
    {
        if (toolIndex < 0)
        {
            return message?["function_call"] as JsonObject;
        }

        return message?["tool_calls"] is JsonArray calls && FindCall(calls, toolIndex) is { } at ? (calls[at]?["function"] ?? calls[at]?["custom"]) as JsonObject : null;
    }

    private void RemoveCall(JsonObject? message, int toolIndex)
    {
        if (message is null)
        {
            return;
        }

        if (toolIndex < 0)
        {
            message.Remove("function_call");
            return;
        }

        if (message["tool_calls"] is JsonArray calls && FindCall(calls, toolIndex) is { } at)
        {
            calls.RemoveAt(at);
            if (calls.Count == 0)
            {
                message.Remove("tool_calls");
            }
        }
    }

    private int? FindCall(JsonArray calls, int toolIndex)
    {
        for (var i = 0; i < calls.Count; i++)
        {
            if ((IsStream ? ChatChunks.IntegerIndex(calls[i], "a tool call") : i) == toolIndex)
            {
                return i;
            }
        }

        return null;
    }
}
