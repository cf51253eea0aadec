using System.Text;
using System.Text.Json;

namespace Luthien.Control.AI;

/// <summary>
/// Joins the tool-call fragments of one stream into whole calls. M.E.AI delivers a call whole, while a chunk a policy
/// released from its holdback may carry a call's arguments in pieces (fragments with the same <c>index</c>).
/// </summary>
/// <remarks>
/// The rule:
/// <list type="number">
/// <item>Fragments are joined by <c>index</c>. A fragment for an index with no open call starts one; so does a fragment
/// whose <c>id</c> differs from the open call's (the open one is then complete).</item>
/// <item>A call is complete as soon as its joined arguments are a whole JSON object: nothing but whitespace may follow
/// a complete JSON value, so no later fragment can change it. A call sent whole is therefore returned with its own
/// chunk.</item>
/// <item>When a call starts, the calls open at other indexes are complete (calls stream one after another).</item>
/// <item>A chunk with a <c>finish_reason</c>, and the end of the stream, complete every open call.</item>
/// </list>
/// A call completed without a whole JSON object keeps its raw text (see <see cref="FunctionArguments"/>). After a call is
/// complete, a whitespace-only fragment for its index is ignored; any other fragment without a new id is refused, since
/// the call has already been handed on.
/// </remarks>
internal sealed class ToolCallJoiner
{
    private readonly List<Open> _open = [];
    private readonly Dictionary<int, string> _done = [];

    /// <summary>Whether calls are open.</summary>
    public bool HasOpen => _open.Count > 0;

    /// <summary>Adds a fragment; calls it completes are added to <paramref name="completed"/>.</summary>
    /// <exception cref="InvalidOperationException">More arguments arrived for a call already complete.</exception>
    public void Add(ToolCallFragment fragment, List<WireCall> completed)
    {
        var open = Find(fragment.Index);
        if (open is not null && fragment.Id is not null && open.Id is not null && fragment.Id != open.Id)
        {
            Complete(open, completed);
            open = null;
        }

        if (open is null)
        {
            if (fragment.Id is null && _done.ContainsKey(fragment.Index))
            {
                if (string.IsNullOrWhiteSpace(fragment.Arguments) && string.IsNullOrEmpty(fragment.Name))
                {
                    return;
                }

                throw new InvalidOperationException($"Tool call {fragment.Index} got more arguments after they formed a whole JSON object.");
            }

            // A new call: the calls open at other indexes are complete.
            for (var i = _open.Count - 1; i >= 0; i--)
            {
                Complete(_open[i], completed);
            }

            open = new Open(fragment.Index);
            _open.Add(open);
        }

        open.Id ??= fragment.Id;
        open.Name.Append(fragment.Name);
        open.Arguments.Append(fragment.Arguments);
        if (EndsWithBrace(open.Arguments) && IsWholeJsonObject(open.Arguments.ToString()))
        {
            Complete(open, completed);
        }
    }

    /// <summary>Completes every open call, in index order (a finish reason, or the end of the stream).</summary>
    public void CompleteAll(List<WireCall> completed)
    {
        _open.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        while (_open.Count > 0)
        {
            Complete(_open[0], completed);
        }
    }

    private Open? Find(int index)
    {
        foreach (var open in _open)
        {
            if (open.Index == index)
            {
                return open;
            }
        }

        return null;
    }

    private void Complete(Open open, List<WireCall> completed)
    {
        _open.Remove(open);
        var id = open.Id ?? WireJson.NewCallId();
        _done[open.Index] = id;
        completed.Add(new WireCall(id, open.Name.ToString(), open.Arguments.ToString()));
    }

    private static bool EndsWithBrace(StringBuilder text)
    {
        for (var i = text.Length - 1; i >= 0; i--)
        {
            if (!char.IsWhiteSpace(text[i]))
            {
                return text[i] == '}';
            }
        }

        return false;
    }

    private static bool IsWholeJsonObject(string text)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private sealed class Open(int index)
    {
        public int Index { get; } = index;

        public string? Id { get; set; }

        public StringBuilder Name { get; } = new();

        public StringBuilder Arguments { get; } = new();
    }
}
