namespace Luthien.Control;

/// <summary>The chunk's output events: what policies read and change of it, and how their changes are written back.</summary>
public sealed partial class StreamChunk
{
    /// <summary>
    /// What the model said in this chunk, as API-neutral events (read on first use, then kept: every policy of the chain
    /// sees the changes the ones before it made). Empty for a chunk that carries none, e.g. an error event.
    /// </summary>
    /// <exception cref="BackendException">The chunk cannot be read as its API's format (502 <c>backend_invalid_response</c>).</exception>
    /// <exception cref="InvalidOperationException">The chunk has not entered the policies, so its API is not known.</exception>
    public IReadOnlyList<OutputEvent> Output => OutputList;

    private OutputList OutputList
    {
        get
        {
            if (ParsedOutput is null)
            {
                ThrowIfReleased();
                if (Format is not { } format)
                {
                    // Read as an answer of some API, or not at all: an empty list would let a policy pass text unread.
                    throw new InvalidOperationException("The chunk's API is not known yet: chunks are read as events once they enter the policies (or a BufferingStreamingIterator made for the transaction).");
                }

                ParsedOutput = format.Decode(this);
            }

            return ParsedOutput;
        }
    }

    /// <summary>Adds an event a policy made (<see cref="OutputEvent.CreateText"/>, <see cref="OutputEvent.CreateFinish"/>) to this chunk.</summary>
    /// <param name="output">
    /// The event: added text goes after the slot's own text in this chunk and before the slot's end, if the chunk has it;
    /// anything else goes last.
    /// </param>
    /// <exception cref="InvalidOperationException">The chunk has no wire format, or the event came from a backend.</exception>
    public void Add(OutputEvent output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.IsAdded || Format is null)
        {
            throw new InvalidOperationException(Format is null ? "The chunk has no output format to write the event in." : "Only events made with OutputEvent.Create… can be added.");
        }

        // The list reads in the order the client will: a slot's text goes before the slot's end, if the chunk has one.
        var list = OutputList;
        if (output.Kind != OutputKind.Finish)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i].Kind == OutputKind.Finish && list[i].Slot == output.Slot)
                {
                    list.Insert(i, output);
                    return;
                }
            }
        }

        list.Add(output);
    }

    /// <summary>Removes everything of one slot from this chunk: its events and whatever else the chunk says of it.</summary>
    /// <param name="slot">The slot.</param>
    public void RemoveSlot(int slot)
    {
        foreach (var output in OutputList)
        {
            if (output.Slot == slot)
            {
                output.Remove();
            }
        }

        (OutputList.RemovedSlots ??= []).Add(slot);
    }

    /// <summary>Writes pending event changes into the JSON, once; a chunk left with nothing to send gets empty data.</summary>
    private void ApplyOutput()
    {
        if (ParsedOutput is not { } output || Format is not { } format || !HasOutputChanges(output))
        {
            return;
        }

        ParsedOutput = null;
        if (!format.Encode(this, output, output.RemovedSlots))
        {
            // Nothing to send: no bytes. The tree (left without choices) stays, so that a policy further down the chain
            // reads the chunk as one that says nothing, and an event added to it later is written.
            _data = ReadOnlyMemory<byte>.Empty;
            IsModified = false;
            _everModified = true;
        }
    }

    private static bool HasOutputChanges(OutputList list)
    {
        if (list.RemovedSlots is { Count: > 0 })
        {
            return true;
        }

        foreach (var output in list)
        {
            if (output.IsModified || output.IsRemoved || output.IsAdded)
            {
                return true;
            }
        }

        return false;
    }
}
