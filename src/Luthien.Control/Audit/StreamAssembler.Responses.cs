using System.Text.Json;

namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>What an event's <c>type</c> says that matters here.</summary>
    private enum ResponsesEventType
    {
        Other,
        Error,
        TextDelta,

        /// <summary>The stream's last event: its response is the finished answer.</summary>
        Last,
    }

    /// <summary>
    /// A Responses stream put back together: <c>{"response": the last lifecycle event's response, "error": the error
    /// event, "output_text": the text deltas when the stream was cut before its last event}</c>.
    /// </summary>
    private sealed class ResponsesAssembler : Assembler
    {
        // The answer so far: the response and the error event, in the order they first came; the text deltas.
        private readonly TextBuffer _text = new();
        private ReadOnlyMemory<byte> _response;
        private ReadOnlyMemory<byte> _error;
        private bool _errorFirst;
        private bool _finished;

        // The event being read.
        private Slice _eventResponse;
        private ResponsesEventType _eventType;
        private TextSlice _eventDelta;
        private Slice _event;

        public void Run(Utf8JsonWriter writer, IEnumerable<ReadOnlyMemory<byte>> events, AuditMask mask)
        {
            Begin(writer, mask);
            try
            {
                foreach (var data in events)
                {
                    if (TryRead(data.Span))
                    {
                        Apply(data);
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
            _text.Clear();
            _response = _error = default;
            _errorFirst = _finished = false;
            base.End();
        }

        protected override void BeginEvent()
        {
            _eventResponse = default;
            _eventType = ResponsesEventType.Other;
            _eventDelta = default;
        }

        protected override void ReadMember(ref Utf8JsonReader reader)
        {
            var name = NameOf(ref reader);
            if (name.SequenceEqual("type"u8))
            {
                reader.Read();
                _eventType = reader.TokenType != JsonTokenType.String ? ResponsesEventType.Other
                    : reader.ValueTextEquals("response.output_text.delta"u8) ? ResponsesEventType.TextDelta
                    : reader.ValueTextEquals("error"u8) ? ResponsesEventType.Error
                    : reader.ValueTextEquals("response.completed"u8) || reader.ValueTextEquals("response.incomplete"u8) || reader.ValueTextEquals("response.failed"u8) ? ResponsesEventType.Last
                    : ResponsesEventType.Other;
                reader.Skip();
            }
            else if (name.SequenceEqual("delta"u8))
            {
                reader.Read();
                _eventDelta = EventText.Append(ref reader);
            }
            else if (name.SequenceEqual("response"u8))
            {
                reader.Read();
                _eventResponse = Slice.OfObject(ref reader, Origin);
            }
            else
            {
                reader.Skip();
            }
        }

        protected override void EndEvent(Slice root) => _event = root;

        private void Apply(ReadOnlyMemory<byte> data)
        {
            // Each lifecycle event carries the response so far; the last one is the answer.
            if (!_eventResponse.IsEmpty)
            {
                _response = _eventResponse.In(data);
                _finished |= _eventType == ResponsesEventType.Last;
            }

            if (_eventType == ResponsesEventType.Error)
            {
                _errorFirst |= _response.IsEmpty;
                _error = _event.In(data);
            }
            else if (_eventType == ResponsesEventType.TextDelta && _eventDelta.Present)
            {
                _text.Append(EventText[_eventDelta]);
            }
        }

        private void WriteAnswer()
        {
            Writer.WriteStartObject();
            if (_errorFirst)
            {
                WriteError();
            }

            if (!_response.IsEmpty)
            {
                Name(ResponseName);
                Raw(_response);
            }

            if (!_errorFirst)
            {
                WriteError();
            }

            // A stream cut before its last event (the client gone, the backend broken): the response so far has no output
            // yet, so the text the client did see is kept beside it.
            if (!_finished && _text.Length > 0)
            {
                Name(OutputTextName);
                Text(_text.Text);
            }

            Writer.WriteEndObject();
        }

        private void WriteError()
        {
            if (!_error.IsEmpty)
            {
                Name(ErrorName);
                Raw(_error);
            }
        }
    }
}
