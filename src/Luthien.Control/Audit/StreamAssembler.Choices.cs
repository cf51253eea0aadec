using System.Text.Json;

namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>The members of a chat or legacy answer kept from its events as they came, in the order they are named.</summary>
    private enum HeadMember
    {
        Error,
        Id,
        Created,
        Model,
        Fingerprint,
        Usage,
    }

    private static bool TryReadIndex(ref Utf8JsonReader reader, out int index)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out index))
        {
            return true;
        }

        reader.Skip();
        index = 0;
        return false;
    }

    /// <summary>A chat stream (a <c>chat.completion</c>) or a legacy one (a <c>text_completion</c>) put back together.</summary>
    private sealed partial class ChoicesAssembler : Assembler
    {
        private static readonly JsonEncodedText[] HeadNames = [ErrorName, IdName, CreatedName, ModelName, FingerprintName, UsageName];

        // The answer so far: its head members in the order they first came, and its choices ordered by index.
        private readonly ReadOnlyMemory<byte>[] _head = new ReadOnlyMemory<byte>[HeadNames.Length];
        private readonly HeadMember[] _order = new HeadMember[HeadNames.Length];
        private readonly IndexedItems<Choice> _choices = new();
        private readonly Stack<Choice> _freeChoices = new();
        private readonly Stack<Call> _freeCalls = new();
        private int _ordered;
        private bool _legacy;

        // The event being read: what it says, taken in once it has been read to its end.
        private readonly Slice[] _eventHead = new Slice[HeadNames.Length];
        private StagedChoice[] _staged = new StagedChoice[4];
        private StagedCall[] _stagedCalls = new StagedCall[4];
        private int _stagedCount;
        private int _stagedCallCount;
        private bool _hasChoices;
        private bool _choicesArray;
        private ReadOnlyMemory<byte> _data;

        // The bytes up to the first `"choices":` of the last event read whole from its first byte, and what reading them
        // gave: an event that begins with them is read from its choices on. The pending ones are the event being read's,
        // remembered only if it reads whole.
        private ReadOnlyMemory<byte> _prefix;
        private Resumption _resume;
        private Slice[] _prefixHead = new Slice[HeadNames.Length];
        private Slice[] _pendingHead = new Slice[HeadNames.Length];
        private Resumption _pending;

        public void Run(Utf8JsonWriter writer, bool legacy, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask mask)
        {
            Begin(writer, mask);
            _legacy = legacy;
            try
            {
                foreach (var data in events)
                {
                    _data = data;
                    var json = data.Span;
                    if (!_resume.IsNone && json.StartsWith(_prefix.Span))
                    {
                        if (TryRead(json, _resume))
                        {
                            Apply();
                        }
                    }
                    else if (TryRead(json))
                    {
                        Remember();
                        Apply();
                    }
                }

                WriteAnswer();
            }
            finally
            {
                End();
            }
        }

        protected override void End()
        {
            // What a stream of many choices or calls needed is not kept for the next one.
            foreach (var choice in _choices.Items)
            {
                choice.Clear(_freeCalls);
                if (_freeChoices.Count < KeptItems)
                {
                    _freeChoices.Push(choice);
                }
            }

            _choices.Clear(KeptItems);
            if (_freeCalls.Count > KeptItems)
            {
                while (_freeCalls.Count > KeptItems)
                {
                    _freeCalls.Pop();
                }

                _freeCalls.TrimExcess();
            }

            if (_staged.Length > KeptItems)
            {
                _staged = new StagedChoice[4];
            }

            if (_stagedCalls.Length > KeptItems)
            {
                _stagedCalls = new StagedCall[4];
            }

            Array.Clear(_head);
            _ordered = 0;
            _data = default;
            _prefix = default;
            _resume = _pending = default;
            base.End();
        }

        protected override void BeginEvent()
        {
            Array.Clear(_eventHead);
            _stagedCount = 0;
            _stagedCallCount = 0;
            _hasChoices = false;
            _choicesArray = false;
            _pending = default;
        }

        /// <summary>The event was read whole from its first byte: the next ones that begin as it did are read from their choices.</summary>
        private void Remember()
        {
            if (_pending.IsNone)
            {
                return;
            }

            _prefix = _data[.._pending.At];
            _resume = _pending;
            (_prefixHead, _pendingHead) = (_pendingHead, _prefixHead);
        }

        /// <summary>A reading resumed after the remembered bytes: what they said, then the choices.</summary>
        protected override void ReadResumedValue(ref Utf8JsonReader reader)
        {
            _prefixHead.CopyTo(_eventHead, 0);
            ReadChoices(ref reader);
        }

        protected override void ReadMember(ref Utf8JsonReader reader)
        {
            var name = NameOf(ref reader);
            if (name.SequenceEqual("choices"u8))
            {
                if (Origin == 0 && _pending.IsNone)
                {
                    // The first choices of an event read from its first byte: what was read up to here, in case it reads whole.
                    _pending = new Resumption(checked((int)reader.BytesConsumed), RootStart, reader.CurrentState);
                    _eventHead.CopyTo(_pendingHead, 0);
                }

                reader.Read();
                ReadChoices(ref reader);
            }
            else if (name.SequenceEqual("id"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Id] = Slice.OfNotNull(ref reader, Origin);
            }
            else if (name.SequenceEqual("created"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Created] = Slice.OfNotNull(ref reader, Origin);
            }
            else if (name.SequenceEqual("model"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Model] = Slice.OfNotNull(ref reader, Origin);
            }
            else if (name.SequenceEqual("system_fingerprint"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Fingerprint] = Slice.OfNotNull(ref reader, Origin);
            }
            else if (name.SequenceEqual("usage"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Usage] = Slice.OfObject(ref reader, Origin);
            }
            else if (name.SequenceEqual("error"u8))
            {
                reader.Read();
                _eventHead[(int)HeadMember.Error] = Slice.OfObject(ref reader, Origin);
            }
            else
            {
                reader.Skip();
            }
        }

        /// <summary>Takes in what the event said, read whole.</summary>
        private void Apply()
        {
            // An error event (an error and no choices) is the error alone.
            if (!_eventHead[(int)HeadMember.Error].IsEmpty && !_hasChoices)
            {
                Keep(HeadMember.Error);
                return;
            }

            // The first of each head value, the last usage.
            for (var member = HeadMember.Id; member <= HeadMember.Fingerprint; member++)
            {
                if (_head[(int)member].IsEmpty && !_eventHead[(int)member].IsEmpty)
                {
                    Keep(member);
                }
            }

            if (!_eventHead[(int)HeadMember.Usage].IsEmpty)
            {
                Keep(HeadMember.Usage);
            }

            if (!_choicesArray)
            {
                return;
            }

            for (var i = 0; i < _stagedCount; i++)
            {
                Apply(in _staged[i]);
            }
        }

        private void Apply(in StagedChoice staged)
        {
            var choice = ChoiceAt(staged.Index);
            if (!staged.Finish.IsEmpty)
            {
                choice.Finish = staged.Finish.In(_data);
            }

            if (_legacy)
            {
                Append(choice.Text, staged.Text);
                return;
            }

            if (!choice.Role.Seen)
            {
                Append(choice.Role, staged.Role);
            }

            Append(choice.Text, staged.Content);
            Append(choice.Refusal, staged.Refusal);
            for (var i = staged.CallStart; i < staged.CallStart + staged.CallCount; i++)
            {
                ref readonly var fragment = ref _stagedCalls[i];
                var call = choice.CallAt(fragment.Index, _freeCalls);
                call.Id = fragment.Id.IsEmpty ? call.Id : fragment.Id.In(_data);
                call.Type = fragment.Type.IsEmpty ? call.Type : fragment.Type.In(_data);
                call.Name = fragment.Name.IsEmpty ? call.Name : fragment.Name.In(_data);
                Append(call.Arguments, fragment.Arguments);
            }
        }

        private void Append(TextBuffer buffer, TextSlice text)
        {
            if (text.Present)
            {
                buffer.Append(EventText[text]);
            }
        }

        private void Keep(HeadMember member)
        {
            if (_head[(int)member].IsEmpty)
            {
                _order[_ordered++] = member;
            }

            _head[(int)member] = _eventHead[(int)member].In(_data);
        }

        private Choice ChoiceAt(int index)
        {
            if (_choices.Find(index) is { } found)
            {
                return found;
            }

            var choice = _freeChoices.Count > 0 ? _freeChoices.Pop() : new Choice();
            choice.Index = index;
            _choices.Add(choice);
            return choice;
        }
    }
}
