namespace Luthien.Control.Streaming;

// ResponseContentPolicy: the state it keeps per answer, and the decisions it records from it.
public sealed partial class ResponseContentPolicy
{
    /// <summary>One text of a slot: its kind, and for arguments the call.</summary>
    private readonly record struct Channel(int Slot, OutputKind Kind, int Tool) : IComparable<Channel>
    {
        public static Channel Of(OutputEvent item) => new(item.Slot, item.Kind, item.Kind == OutputKind.ToolArguments ? item.ToolIndex : 0);

        // Within a slot: the kinds in OutputKind's order (text, refusal, reasoning, transcript, arguments), calls in order.
        public int CompareTo(Channel other) => (Slot, (int)Kind, Tool).CompareTo((other.Slot, (int)other.Kind, other.Tool));
    }

    /// <summary>Records, once per transaction and action, that the policy redacted or blocked something (never what).</summary>
    private static void Decided(FilterOutput result, StreamState state)
    {
        if (result.Blocked && !state.BlockRecorded)
        {
            state.BlockRecorded = true;
            state.Transaction.RecordDecision(new PolicyDecision(TypeName, "block"));
        }
        else if (result.Redacted && !state.RedactRecorded)
        {
            state.RedactRecorded = true;
            state.Transaction.RecordDecision(new PolicyDecision(TypeName, "redact"));
        }
    }

    /// <summary>One stream's (or buffered answer's) state: its channels' filters, what ended, what was decided.</summary>
    private sealed class StreamState(Transaction transaction)
    {
        public Dictionary<Channel, StreamingPatternFilter> Filters { get; } = [];

        public HashSet<int> Blocked { get; } = [];

        public Transaction Transaction { get; } = transaction;

        public bool BlockRecorded { get; set; }

        public bool RedactRecorded { get; set; }

        /// <summary>Slots whose end was seen (their channels are flushed).</summary>
        public HashSet<int> Finished { get; } = [];

        /// <summary>Events this policy added to the chunk at hand.</summary>
        public List<OutputEvent> Added { get; } = [];
    }
}
