using System.Text;
using System.Text.Json;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// The adapter's tree-free fast path (the chunk scanner and its learned shapes) against its JSON-tree path, on random
/// chat chunks of one stream: both must read the same events, or the fast path must give way to the tree. A difference
/// is text a policy would not see.
/// </summary>
public class ChatCompletionsFormatDifferentialTests
{
    private static readonly string[] Texts = ["", "a", "SECRET-1", "é", "\u2028", "\"q\"", "back\\slash", "\n", "{\"choices\":[]}", "\ud83d\ude00"];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void Decode_RandomChunksOfAStream_FastPathReadsWhatTheTreeReads(int seed)
    {
        var random = new Random(seed);
        for (var stream = 0; stream < 500; stream++)
        {
            // One adapter per stream, as in the product, so the learned shapes are exercised across its chunks.
            var fast = new ChatCompletionsFormat(stream: true);
            for (var i = 0; i < 40; i++)
            {
                var json = RandomChunk(random);
                var expected = TreeRead(json);
                string actual;
                try
                {
                    var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
                    chunk.Format = fast;
                    actual = Describe(chunk.Output);
                }
                catch (BackendException)
                {
                    actual = "refused";
                }

                Assert.That(actual, Is.EqualTo(expected), $"seed {seed}, stream {stream}, chunk {i}: {json}");
            }
        }
    }

    private static string TreeRead(string json)
    {
        try
        {
            // The library's own parse (duplicate names, bad text refused), then marked changed: the adapter reads the tree.
            var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
            chunk.MarkModified();
            chunk.Format = new ChatCompletionsFormat(stream: true);
            return Describe(chunk.Output);
        }
        catch (BackendException)
        {
            return "refused";
        }
    }

    private static string Describe(IReadOnlyList<OutputEvent> output) =>
        string.Join("|", output.Select(o => $"{o.Kind}:{o.Slot}:{o.ToolIndex}:{o.Text}:{o.FinishReason}:{o.ToolName}"));

    private static string RandomChunk(Random random)
    {
        var head = random.Next(4) switch
        {
            0 => "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",",
            1 => "\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"system_fingerprint\":\"fp\",",
            2 => "\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"m2\",",
            _ => string.Empty,
        };
        var choices = new List<string>();
        var choicesName = random.Next(15) == 0 ? "\"choic\\u0065s\"" : "\"choices\"";
        var count = random.Next(10) == 0 ? 2 : 1;
        for (var c = 0; c < count; c++)
        {
            choices.Add(RandomChoice(random, c));
        }

        var tail = random.Next(6) switch
        {
            0 => ",\"usage\":null",
            1 => ",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}",
            2 => ",\"x_vendor\":{\"content\":\"hidden?\"}",
            _ => string.Empty,
        };
        // Now and then a second, different choices array, which a client may read instead of the first.
        var second = random.Next(25) == 0 ? ",\"choices\":[" + RandomChoice(random, 0) + "]" : string.Empty;
        return "{" + head + choicesName + ":[" + string.Join(",", choices) + "]" + second + tail + "}";
    }

    private static string RandomChoice(Random random, int index)
    {
        var parts = new List<string>();
        if (random.Next(3) != 0)
        {
            parts.Add("\"index\":" + index);
        }

        var delta = new List<string>();
        switch (random.Next(9))
        {
            case 0:
                delta.Add("\"role\":\"assistant\"");
                delta.Add("\"content\":" + Text(random));
                break;
            case 1:
                delta.Add("\"content\":[{\"type\":\"text\",\"text\":" + Text(random) + "}]");
                break;
            case 2:
                delta.Add("\"content\":null");
                break;
            case 3:
                delta.Add("\"refusal\":" + Text(random));
                break;
            case 4:
                delta.Add("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":" + Text(random) + "}}]");
                break;
            case 5:
                delta.Add("\"tool_calls\":[{\"index\":" + random.Next(2) + ",\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":" + Text(random) + ",\"arguments\":\"\"}}]");
                break;
            case 6:
                // A name a byte search would not see as "content".
                delta.Add("\"cont\\u0065nt\":" + Text(random));
                break;
            default:
                delta.Add("\"content\":" + Text(random));
                break;
        }

        if (random.Next(30) == 0)
        {
            // The same name twice: the library refuses it wherever it is read.
            delta.Add("\"content\":" + Text(random));
        }

        parts.Add("\"delta\":{" + string.Join(",", delta) + "}");
        if (random.Next(3) == 0)
        {
            parts.Add("\"logprobs\":null");
        }

        parts.Add("\"finish_reason\":" + (random.Next(5) == 0 ? "\"stop\"" : random.Next(20) == 0 ? "1" : "null"));
        return "{" + string.Join(",", parts) + "}";
    }

    private static string Text(Random random)
    {
        var text = Texts[random.Next(Texts.Length)] + (random.Next(2) == 0 ? Texts[random.Next(Texts.Length)] : string.Empty);

        // Sometimes escaped where it need not be: a client reads the same string.
        return random.Next(4) == 0
            ? "\"" + string.Concat(text.Select(ch => $"\\u{(int)ch:x4}")) + "\""
            : JsonSerializer.Serialize(text);
    }
}
