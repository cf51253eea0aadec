using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Luthien.Control.AI;

/// <summary>
/// Reads what <see cref="ChatChunkReader"/> needs from a <c>chat.completion.chunk</c> with a <see cref="Utf8JsonReader"/>
/// (no JSON nodes): <c>id</c>, <c>created</c>, <c>model</c>, <c>usage</c>, and choice 0's <c>role</c>, <c>content</c>,
/// <c>refusal</c>, <c>reasoning_content</c>, <c>tool_calls</c> and <c>finish_reason</c>. Unknown members are skipped. Reused per stream: the values
/// are those of the last chunk parsed.
/// </summary>
internal sealed class ChunkParser
{
    private readonly List<ToolCallFragment> _fragments = [];

    public string? Id { get; private set; }

    public long? Created { get; private set; }

    public string? Model { get; private set; }

    public string? Role { get; private set; }

    /// <summary>Choice 0's texts: <c>content</c>, <c>refusal</c> and <c>reasoning_content</c>.</summary>
    public WireTexts Texts { get; private set; }

    public string? FinishReason { get; private set; }

    public UsageDetails? Usage { get; private set; }

    public IReadOnlyList<ToolCallFragment> Fragments => _fragments;

    /// <summary>Parses a chunk.</summary>
    /// <exception cref="InvalidOperationException">Not JSON, or not of a chunk's shape.</exception>
    public ChunkParser Parse(ReadOnlySpan<byte> json)
    {
        Id = Model = Role = FinishReason = null;
        Texts = default;
        Created = null;
        Usage = null;
        _fragments.Clear();
        try
        {
            var reader = new Utf8JsonReader(json);
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    Id = ReadString(ref reader, "id");
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    Model = ReadString(ref reader, "model");
                }
                else if (reader.ValueTextEquals("created"u8))
                {
                    reader.Read();
                    Created = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seconds) ? seconds : null;
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    ReadChoices(ref reader);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        Usage = UsageJson.Read(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException("The chat.completion.chunk is not valid JSON.", ex);
        }

        return this;
    }

    private void ReadChoices(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(reader.TokenType == JsonTokenType.StartArray, "'choices' as an array");
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var index = 0;
            var fragmentsBefore = _fragments.Count;
            string? role = null, finishReason = null;
            WireTexts texts = default;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    Expect(reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out index), "a choice's 'index' as an integer");
                }
                else if (reader.ValueTextEquals("delta"u8))
                {
                    ReadDelta(ref reader, out role, out texts);
                }
                else if (reader.ValueTextEquals("finish_reason"u8))
                {
                    finishReason = ReadString(ref reader, "finish_reason");
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (index == 0)
            {
                (Role, Texts, FinishReason) = (role, texts, finishReason);
            }
            else
            {
                // Another choice than the one an M.E.AI stream has: not read.
                _fragments.RemoveRange(fragmentsBefore, _fragments.Count - fragmentsBefore);
            }
        }
    }

    private void ReadDelta(ref Utf8JsonReader reader, out string? role, out WireTexts texts)
    {
        role = null;
        texts = default;
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(reader.TokenType == JsonTokenType.StartObject, "'delta' as an object");
        string? text = null, refusal = null, reasoning = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                role = ReadString(ref reader, "delta.role");
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                text = ReadString(ref reader, "delta.content");
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                refusal = ReadString(ref reader, "delta.refusal");
            }
            else if (reader.ValueTextEquals("reasoning_content"u8))
            {
                reasoning = ReadString(ref reader, "delta.reasoning_content");
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                ReadToolCalls(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        texts = new WireTexts(text, refusal, reasoning);
    }

    private void ReadToolCalls(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(reader.TokenType == JsonTokenType.StartArray, "'delta.tool_calls' as an array");
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var index = 0;
            string? id = null, name = null, arguments = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("index"u8))
                {
                    reader.Read();
                    Expect(reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out index), "a tool call's 'index' as an integer");
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    id = ReadString(ref reader, "tool_calls[].id");
                }
                else if (reader.ValueTextEquals("function"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    Expect(reader.TokenType == JsonTokenType.StartObject, "'tool_calls[].function' as an object");
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("name"u8))
                        {
                            name = ReadString(ref reader, "tool_calls[].function.name");
                        }
                        else if (reader.ValueTextEquals("arguments"u8))
                        {
                            arguments = ReadString(ref reader, "tool_calls[].function.arguments");
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            _fragments.Add(new ToolCallFragment(index, id, name, arguments));
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader, string what)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(reader.TokenType == JsonTokenType.String, $"'{what}' as a string");
        return reader.GetString();
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"The chat.completion.chunk is not one the library can read: it should have {what}.");
        }
    }
}
