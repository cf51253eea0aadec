namespace Luthien.Control;

internal static partial class StreamAssembler
{
    /// <summary>
    /// Items by index: kept in the order they first appeared, found at once whatever order a backend sends indexes in
    /// (a sorted insert per item made a stream of indexes sent backwards quadratic: seconds of the writer's time for one
    /// event), put in index order once, when the answer is written.
    /// </summary>
    private sealed class IndexedItems<T>
        where T : class, IIndexed
    {
        private readonly List<T> _items = [];
        private Dictionary<int, T>? _byIndex;
        private bool _ordered = true;

        /// <summary>The items, in no particular order.</summary>
        public List<T> Items => _items;

        public T? Find(int index)
        {
            // Streams mostly repeat the last index seen, and hold one or a few.
            var count = _items.Count;
            if (count > 0 && _items[count - 1].Index == index)
            {
                return _items[count - 1];
            }

            if (count <= 8)
            {
                foreach (var item in _items)
                {
                    if (item.Index == index)
                    {
                        return item;
                    }
                }

                return null;
            }

            if (_byIndex is null)
            {
                _byIndex = new Dictionary<int, T>(count * 2);
                foreach (var item in _items)
                {
                    _byIndex[item.Index] = item;
                }
            }

            return _byIndex.GetValueOrDefault(index);
        }

        public void Add(T item)
        {
            _ordered &= _items.Count == 0 || _items[^1].Index < item.Index;
            _items.Add(item);
            _byIndex?.Add(item.Index, item);
        }

        /// <summary>The items in index order.</summary>
        public List<T> Ordered()
        {
            if (!_ordered)
            {
                _items.Sort(static (a, b) => a.Index.CompareTo(b.Index));
                _ordered = true;
            }

            return _items;
        }

        /// <summary>Empties the list, keeping room for at most <paramref name="kept"/> items.</summary>
        public void Clear(int kept)
        {
            _items.Clear();
            _items.Capacity = Math.Min(_items.Capacity, kept);
            _byIndex = null;
            _ordered = true;
        }
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

        /// <summary>The tool calls.</summary>
        public IndexedItems<Call> Calls { get; } = new();

        public Call CallAt(int index, Stack<Call> free)
        {
            if (Calls.Find(index) is { } found)
            {
                return found;
            }

            var call = free.Count > 0 ? free.Pop() : new Call();
            call.Index = index;
            Calls.Add(call);
            return call;
        }

        public void Clear(Stack<Call> free)
        {
            Text.Clear();
            Refusal.Clear();
            Role.Clear();
            Finish = default;
            foreach (var call in Calls.Items)
            {
                call.Clear();
                free.Push(call);
            }

            Calls.Clear(KeptItems);
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
