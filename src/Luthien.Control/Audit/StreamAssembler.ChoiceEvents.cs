using System.Text.Json;

namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>The reading of a chat or legacy event's choices: each one staged, taken in only if the event reads whole.</summary>
    private sealed partial class ChoicesAssembler
    {
        /// <summary>The reader stands on the value of <c>choices</c>; it ends on its last token.</summary>
        private void ReadChoices(ref Utf8JsonReader reader)
        {
            // A repeated name: the last one is read.
            _stagedCount = 0;
            _stagedCallCount = 0;
            _hasChoices = reader.TokenType != JsonTokenType.Null;
            _choicesArray = reader.TokenType == JsonTokenType.StartArray;
            if (!_choicesArray)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadChoice(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        /// <summary>The reader stands on a choice's start; it ends on its end. A choice without an index is dropped.</summary>
        private void ReadChoice(ref Utf8JsonReader reader)
        {
            var choice = new StagedChoice { CallStart = _stagedCallCount };
            var indexed = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = NameOf(ref reader);
                if (name.SequenceEqual("index"u8))
                {
                    reader.Read();
                    indexed = TryReadIndex(ref reader, out choice.Index);
                }
                else if (!_legacy && name.SequenceEqual("delta"u8))
                {
                    reader.Read();
                    ReadDelta(ref reader, ref choice);
                }
                else if (_legacy && name.SequenceEqual("text"u8))
                {
                    reader.Read();
                    choice.Text = EventText.Append(ref reader);
                }
                else if (name.SequenceEqual("finish_reason"u8))
                {
                    reader.Read();
                    if (reader.TokenType is JsonTokenType.Null or JsonTokenType.StartObject or JsonTokenType.StartArray)
                    {
                        reader.Skip();
                        choice.Finish = default;
                    }
                    else
                    {
                        choice.Finish = Slice.Of(ref reader, Origin);
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            if (indexed)
            {
                Stage(ref _staged, _stagedCount++) = choice;
            }
        }

        /// <summary>The reader stands on the value of <c>delta</c>; it ends on its last token.</summary>
        private void ReadDelta(ref Utf8JsonReader reader, ref StagedChoice choice)
        {
            choice.Role = choice.Content = choice.Refusal = default;
            choice.CallStart = _stagedCallCount;
            choice.CallCount = 0;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = NameOf(ref reader);
                if (name.SequenceEqual("content"u8))
                {
                    reader.Read();
                    choice.Content = EventText.Append(ref reader);
                }
                else if (name.SequenceEqual("role"u8))
                {
                    reader.Read();
                    choice.Role = EventText.Append(ref reader);
                }
                else if (name.SequenceEqual("refusal"u8))
                {
                    reader.Read();
                    choice.Refusal = EventText.Append(ref reader);
                }
                else if (name.SequenceEqual("tool_calls"u8))
                {
                    reader.Read();
                    choice.CallStart = _stagedCallCount;
                    choice.CallCount = 0;
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            reader.Skip();
                        }
                        else if (ReadCall(ref reader))
                        {
                            choice.CallCount++;
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        /// <summary>
        /// The reader stands on a tool call fragment's start; it ends on its end. Whether it had an index (one without is
        /// dropped).
        /// </summary>
        private bool ReadCall(ref Utf8JsonReader reader)
        {
            var call = default(StagedCall);
            var indexed = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = NameOf(ref reader);
                if (name.SequenceEqual("index"u8))
                {
                    reader.Read();
                    indexed = TryReadIndex(ref reader, out call.Index);
                }
                else if (name.SequenceEqual("function"u8))
                {
                    reader.Read();
                    ReadFunction(ref reader, ref call);
                }
                else if (name.SequenceEqual("id"u8))
                {
                    reader.Read();
                    call.Id = Slice.OfNotNull(ref reader, Origin);
                }
                else if (name.SequenceEqual("type"u8))
                {
                    reader.Read();
                    call.Type = Slice.OfNotNull(ref reader, Origin);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (indexed)
            {
                Stage(ref _stagedCalls, _stagedCallCount++) = call;
            }

            return indexed;
        }

        private void ReadFunction(ref Utf8JsonReader reader, ref StagedCall call)
        {
            call.Name = default;
            call.Arguments = default;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = NameOf(ref reader);
                if (name.SequenceEqual("arguments"u8))
                {
                    reader.Read();
                    call.Arguments = EventText.Append(ref reader);
                }
                else if (name.SequenceEqual("name"u8))
                {
                    reader.Read();
                    call.Name = Slice.OfNotNull(ref reader, Origin);
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        /// <summary>The slot <paramref name="at"/> of a staging array, grown when needed.</summary>
        private static ref T Stage<T>(ref T[] items, int at)
        {
            if (at == items.Length)
            {
                Array.Resize(ref items, items.Length * 2);
            }

            return ref items[at];
        }
    }
}
