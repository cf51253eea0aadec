namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>Where <paramref name="index"/> is in a list ordered by index, or the complement of where it would go.</summary>
    private static int Find<T>(List<T> items, int index)
        where T : IIndexed
    {
        // Streams mostly repeat the last index seen, or go on to the next one.
        var count = items.Count;
        if (count > 0 && items[count - 1].Index <= index)
        {
            return items[count - 1].Index == index ? count - 1 : ~count;
        }

        int low = 0, high = count - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var found = items[middle].Index;
            if (found == index)
            {
                return middle;
            }

            if (found < index)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }

    private interface IIndexed
    {
        int Index { get; }
    }

    /// <summary>One choice as its deltas build it.</summary>
    private sealed class Choice : IIndexed
    {
        public int Index { get; set; }

        /// <summary>The content (a legacy choice's text).</summary>
        public TextBuffer Text { get; } = new();

        public TextBuffer Refusal { get; } = new();

        /// <summary>The first role said.</summary>
        public TextBuffer Role { get; } = new();

        /// <summary>The last finish reason said (a value other than null, an object or an array).</summary>
        public ReadOnlyMemory<byte> Finish { get; set; }

        /// <summary>The tool calls, ordered by index.</summary>
        public List<Call> Calls { get; } = [];

        public Call CallAt(int index, Stack<Call> free)
        {
            var at = Find(Calls, index);
            if (at >= 0)
            {
                return Calls[at];
            }

            var call = free.Count > 0 ? free.Pop() : new Call();
            call.Index = index;
            Calls.Insert(~at, call);
            return call;
        }

        public void Clear(Stack<Call> free)
        {
            Text.Clear();
            Refusal.Clear();
            Role.Clear();
            Finish = default;
            foreach (var call in Calls)
            {
                call.Clear();
                free.Push(call);
            }

            Calls.Clear();
            Calls.Capacity = Math.Min(Calls.Capacity, KeptItems);
        }
    }

    /// <summary>One tool call as its fragments build it: the last id, type and name said, the arguments joined.</summary>
    private sealed class Call : IIndexed
    {
        public int Index { get; set; }

        public ReadOnlyMemory<byte> Id { get; set; }

        public ReadOnlyMemory<byte> Type { get; set; }

        public ReadOnlyMemory<byte> Name { get; set; }

        public TextBuffer Arguments { get; } = new();

        public void Clear()
        {
            Id = Type = Name = default;
            Arguments.Clear();
        }
    }

    /// <summary>What one choice of the event being read says.</summary>
    private struct StagedChoice
    {
        public int Index;
        public Slice Finish;
        public TextSlice Text;
        public TextSlice Role;
        public TextSlice Content;
        public TextSlice Refusal;
        public int CallStart;
        public int CallCount;
    }

    /// <summary>What one tool call fragment of the event being read says.</summary>
    private struct StagedCall
    {
        public int Index;
        public Slice Id;
        public Slice Type;
        public Slice Name;
        public TextSlice Arguments;
    }
}
