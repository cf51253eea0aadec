using System.Text;
using System.Text.RegularExpressions;

namespace Luthien.Control.Streaming;

// ToolCallPolicy: each stream's calls followed, judged, held, released or blocked.
public sealed partial class ToolCallPolicy
{
    /// <summary>Follows one fragment of a call: its name or arguments grow, or it settles (and so the call is judged).</summary>
    private void Track(OutputEvent item, IReadOnlyList<OutputEvent> output, StreamState state)
    {
        var key = (item.Slot, item.ToolIndex);

        // Another call of the slot has begun: the calls before it are whole, names and arguments.
        CompleteSlot(item.Slot, exceptCall: item.ToolIndex, state);
        var namePiece = item.Kind == OutputKind.ToolCall ? item.ToolName ?? string.Empty : string.Empty;
        var arguments = item.Kind == OutputKind.ToolArguments ? item.Text : string.Empty;
        if (state.Pending.TryGetValue(key, out var call))
        {
            call.Arguments.Append(arguments);
            if (call.NameSettled)
            {
                if (namePiece.Length > 0)
                {
                    // More of a name after it was judged: a client would show (and run) the new name.
                    throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
                }
            }
            else if (namePiece.Length > 0)
            {
                call.Name.Append(namePiece);
            }
            else if (!CarriesName(output, key))
            {
                // A later fragment without a piece of the name: the name is complete.
                SettleName(key, call, state);
            }
        }
        else if (!state.Allowed.Contains(key))
        {
            var pending = new PendingCall(namePiece);
            pending.Arguments.Append(arguments);
            state.Pending[key] = pending;
        }
        else if (namePiece.Length > 0)
        {
            throw BackendException.InvalidResponse("a tool call's name went on after the call was judged.");
        }
        else if (arguments.Length > 0 && state.JudgedOnArguments.Contains(key))
        {
            // Arguments after they were judged whole could change what the tool is asked to do.
            throw BackendException.InvalidResponse("a tool call's arguments went on after the call was judged.");
        }
    }

    /// <summary>Whether the chunk carries a piece of this call's name (its argument fragment then does not settle it).</summary>
    private static bool CarriesName(IReadOnlyList<OutputEvent> output, (int Slot, int Call) key)
    {
        foreach (var item in output)
        {
            if (item.Kind == OutputKind.ToolCall && item.Slot == key.Slot && item.ToolIndex == key.Call && !string.IsNullOrEmpty(item.ToolName))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Completes every pending call of a slot (but one): their names and arguments are whole.</summary>
    private void CompleteSlot(int slot, int? exceptCall, StreamState state)
    {
        if (state.Pending.Count == 0)
        {
            return;
        }

        foreach (var key in state.Pending.Keys.ToList())
        {
            if (key.Slot == slot && key.Call != exceptCall)
            {
                Complete(key, state);
            }
        }
    }

    /// <summary>A call's name is settled: judged by name; a call of a tool with argument rules waits on for its arguments.</summary>
    private void SettleName((int Slot, int Call) key, PendingCall call, StreamState state)
    {
        var name = call.Name.ToString();
        if (!IsAllowed(name))
        {
            state.Pending.Remove(key);
            MarkBlocked(key, state);
        }
        else if (!HasArgumentRules(name))
        {
            state.Pending.Remove(key);
            state.Allowed.Add(key);
        }
        else
        {
            call.NameSettled = true;
        }
    }

    /// <summary>A pending call is whole: judged by name and, if its tool has rules, by its arguments.</summary>
    private void Complete((int Slot, int Call) key, StreamState state)
    {
        if (!state.Pending.TryGetValue(key, out var call))
        {
            return;
        }

        if (!call.NameSettled)
        {
            SettleName(key, call, state);
            if (!call.NameSettled)
            {
                return;
            }
        }

        state.Pending.Remove(key);
        if (AreArgumentsAllowed(call.Name.ToString(), call.Arguments.ToString()))
        {
            state.Allowed.Add(key);
            state.JudgedOnArguments.Add(key);
        }
        else
        {
            MarkBlocked(key, state);
        }
    }

    /// <summary>Whether every call in the scanned chunk was judged allowed by name alone (a loop: a method group would allocate).</summary>
    private static bool AllAllowedByName(StreamState state)
    {
        foreach (var call in state.Scratch)
        {
            if (!state.Allowed.Contains(call) || state.JudgedOnArguments.Contains(call))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Records a call that is not allowed: its slot ends at the first such call.</summary>
    private static void MarkBlocked((int Slot, int Call) key, StreamState state)
    {
        if (!state.BlockedAt.ContainsKey(key.Slot) && (!state.NewlyBlocked.TryGetValue(key.Slot, out var first) || key.Call < first))
        {
            state.NewlyBlocked[key.Slot] = key.Call;
        }
    }

    /// <summary>
    /// Holds the chunk at hand, ends newly blocked slots (what is held of them from the blocked call on goes, and the slot
    /// ends with <c>content_filter</c>), then lets out the held chunks if no call is undecided.
    /// </summary>
    private static void Release(StreamingContext context, StreamState state, StreamChunk? current)
    {
        if (state.NewlyBlocked.Count > 0)
        {
            foreach (var (slot, call) in state.NewlyBlocked)
            {
                state.BlockedAt[slot] = call;
                context.Transaction.RecordDecision(new PolicyDecision("ToolCallPolicy", "block"));
                foreach (var key in state.Pending.Keys.ToList())
                {
                    if (key.Slot == slot)
                    {
                        state.Pending.Remove(key);
                    }
                }
            }

            state.NewlyBlocked.Clear();
        }

        if (state.Pending.Count > 0)
        {
            if (current is not null)
            {
                context.Hold(current);
            }

            return;
        }

        var held = context.DiscardHeld();
        if (current is not null)
        {
            held = [.. held, current];
        }

        foreach (var chunk in held)
        {
            Trim(chunk, state);
        }

        // The ends ride on the last held chunk, but never on the usage chunk: the host keeps that one from a client that
        // did not ask for usage, and knows it by its empty choices. With no other chunk held, an end of its own goes first.
        var endAt = held.Count - 1;
        while (endAt >= 0 && StreamUsage.IsUsageChunk(held[endAt]))
        {
            endAt--;
        }

        StreamChunk? end = null;
        foreach (var (slot, _) in state.BlockedAt)
        {
            if (state.Ended.Add(slot))
            {
                end ??= endAt >= 0 ? held[endAt] : context.CreateChunk();
                end.Add(OutputEvent.CreateFinish(slot));
            }
        }

        if (end is not null && endAt < 0)
        {
            context.Emit(end);
        }

        foreach (var chunk in held)
        {
            context.Emit(chunk);
        }
    }

    /// <summary>Takes out of a chunk what a client must not see of the blocked slots.</summary>
    private static void Trim(StreamChunk chunk, StreamState state)
    {
        if (state.BlockedAt.Count == 0)
        {
            return;
        }

        foreach (var item in chunk.Output)
        {
            // An end another policy added stays (ours are added after this); text or arguments it added are judged as the
            // backend's are: arguments it let out of a blocked call must not be shown either.
            if ((item.IsAdded && item.Kind == OutputKind.Finish) || !state.BlockedAt.TryGetValue(item.Slot, out var blockedAt))
            {
                continue;
            }

            if (state.Ended.Contains(item.Slot))
            {
                // The slot ended before this chunk: nothing more of it is shown.
                chunk.RemoveSlot(item.Slot);
                continue;
            }

            // Of the slot's calls only those judged allowed and made before the blocked one stay: a call never judged (begun
            // after the blocked one under a lower index, or a legacy function_call beside tool_calls) is not "before" it.
            var isCall = item.Kind is OutputKind.ToolCall or OutputKind.ToolArguments;
            var after = blockedAt < 0 ? item.ToolIndex < 0 : item.ToolIndex >= blockedAt;
            if (item.Kind == OutputKind.Finish || (isCall && (after || !state.Allowed.Contains((item.Slot, item.ToolIndex)))))
            {
                item.Remove();
            }
        }
    }


    /// <summary>A call not decided yet: its name so far and its arguments so far.</summary>
    private sealed class PendingCall(string name)
    {
        public StringBuilder Name { get; } = new(name);

        public StringBuilder Arguments { get; } = new();

        /// <summary>The name is whole and allowed, and the tool has argument rules: the call waits for its arguments.</summary>
        public bool NameSettled { get; set; }
    }

    private sealed class StreamState
    {
        public Dictionary<(int Slot, int Call), PendingCall> Pending { get; } = [];

        public HashSet<(int Slot, int Call)> Allowed { get; } = [];

        /// <summary>Allowed calls judged on their whole arguments: no more arguments may follow.</summary>
        public HashSet<(int Slot, int Call)> JudgedOnArguments { get; } = [];

        /// <summary>Blocked slots, with the first call not allowed.</summary>
        public Dictionary<int, int> BlockedAt { get; } = [];

        public Dictionary<int, int> NewlyBlocked { get; } = [];

        /// <summary>Blocked slots whose content_filter end was sent.</summary>
        public HashSet<int> Ended { get; } = [];

        public List<(int Slot, int Call)> Scratch { get; } = [];
    }
}
