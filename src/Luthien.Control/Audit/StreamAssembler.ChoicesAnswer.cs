using System.Text.Json;

namespace Luthien.Control;

// StreamAssembler: a chat or legacy answer written once its events have been read.
internal static partial class StreamAssembler
{
    private sealed partial class ChoicesAssembler
    {
        private void WriteAnswer()
        {
            var writer = Writer;
            writer.WriteStartObject();
            for (var i = 0; i < _ordered; i++)
            {
                Name(HeadNames[(int)_order[i]]);
                Raw(_head[(int)_order[i]]);
            }

            Name(ObjectName);
            Word(_legacy ? TextCompletion : ChatCompletion);
            Name(ChoicesName);
            writer.WriteStartArray();
            foreach (var choice in _choices.Ordered())
            {
                writer.WriteStartObject();
                Name(IndexName);
                writer.WriteNumberValue(choice.Index);
                if (_legacy)
                {
                    Name(TextName);
                    Text(choice.Text.Text);
                }
                else
                {
                    Name(MessageName);
                    WriteMessage(choice);
                }

                Name(FinishReasonName);
                Raw(choice.Finish);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        private void WriteMessage(Choice choice)
        {
            var writer = Writer;
            writer.WriteStartObject();
            Name(RoleName);
            if (choice.Role.Seen)
            {
                Text(choice.Role.Text);
            }
            else
            {
                Word(Assistant);
            }

            Name(ContentName);
            if (choice.Text.Seen)
            {
                Text(choice.Text.Text);
            }
            else
            {
                writer.WriteNullValue();
            }

            if (choice.Refusal.Seen)
            {
                Name(RefusalName);
                Text(choice.Refusal.Text);
            }

            if (choice.Calls.Items.Count > 0)
            {
                Name(ToolCallsName);
                writer.WriteStartArray();
                foreach (var call in choice.Calls.Ordered())
                {
                    writer.WriteStartObject();
                    Name(IdName);
                    Raw(call.Id);
                    Name(TypeName);
                    if (call.Type.IsEmpty)
                    {
                        Word(FunctionName);
                    }
                    else
                    {
                        Raw(call.Type);
                    }

                    Name(FunctionName);
                    writer.WriteStartObject();
                    Name(NameName);
                    Raw(call.Name);
                    Name(ArgumentsName);
                    Text(call.Arguments.Text);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }
    }
}
