using System.Text.Json;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Policies;

/// <summary>Counts what passes in a response — text length, finish reasons, tokens — without building JSON trees for chunks.</summary>
internal sealed class ChunkSummary
{
    private readonly SortedSet<string> _finishReasons = new(StringComparer.Ordinal);

    public int Chunks { get; private set; }

    public double? FirstChunkMs { get; set; }

    public int TextLength { get; private set; }

    public long? PromptTokens { get; private set; }

    public long? CompletionTokens { get; private set; }

    public string FinishReasonsText => string.Join(",", _finishReasons);

    /// <summary>Scans one chunk's JSON with a forward-only reader.</summary>
    public void AddChunk(ReadOnlySpan<byte> json)
    {
        Chunks++;
        var reader = new Utf8JsonReader(json);
        string? property = null;
        var inUsage = false;
        var usageDepth = -1;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        property = reader.GetString();
                        if (property == "usage" && reader.CurrentDepth == 1)
                        {
                            inUsage = true;
                            usageDepth = reader.CurrentDepth;
                        }

                        break;
                    case JsonTokenType.String when property is "content" or "refusal" && !inUsage:
                        TextLength += reader.GetString()!.Length;
                        break;
                    case JsonTokenType.String when property == "finish_reason":
                        _finishReasons.Add(reader.GetString()!);
                        break;
                    case JsonTokenType.Number when inUsage && property == "prompt_tokens":
                        PromptTokens = reader.GetInt64();
                        break;
                    case JsonTokenType.Number when inUsage && property == "completion_tokens":
                        CompletionTokens = reader.GetInt64();
                        break;
                    case JsonTokenType.EndObject when inUsage && reader.CurrentDepth == usageDepth:
                        inUsage = false;
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: counted as a chunk, nothing more.
        }
    }

    /// <summary>Reads a whole (non-streaming) completion.</summary>
    public void AddCompletion(JsonObject completion)
    {
        if (completion["choices"] is JsonArray choices)
        {
            foreach (var choice in choices)
            {
                if (choice?["message"]?["content"] is JsonValue v && v.TryGetValue(out string? text))
                {
                    TextLength += text.Length;
                }

                if (choice?["finish_reason"] is JsonValue f && f.TryGetValue(out string? reason))
                {
                    _finishReasons.Add(reason);
                }
            }
        }

        if (completion["usage"] is JsonObject usage)
        {
            PromptTokens = usage["prompt_tokens"] is JsonValue p && p.TryGetValue(out long pt) ? pt : null;
            CompletionTokens = usage["completion_tokens"] is JsonValue c && c.TryGetValue(out long ct) ? ct : null;
        }
    }
}
