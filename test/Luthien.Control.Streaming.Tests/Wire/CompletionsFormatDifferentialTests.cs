using System.Text;
using System.Text.Json;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// The legacy adapter's tree-free reading of a streamed chunk against its JSON-tree reading, on random
/// <c>text_completion</c> chunks: both must read the same events, or refuse alike. A difference is text a policy would
/// not see.
/// </summary>
public class CompletionsFormatDifferentialTests
{
    private static readonly string[] Texts = ["", "a", "SECRET-1", "é", "\u2028", "\"q\"", "back\\slash", "\n", "{\"choices\":[]}", "\ud83d\ude00"];

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Decode_RandomChunks_ScannerReadsWhatTheTreeReads(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 20_000; i++)
        {
            var json = RandomChunk(random);
            var expected = Read(json, asChanged: true);

            Assert.That(Read(json, asChanged: false), Is.EqualTo(expected), $"seed {seed}, chunk {i}: {json}");
        }
    }

    /// <summary>Reads a chunk's events; one marked changed is read from the library's own parse (the tree path).</summary>
    private static string Read(string json, bool asChanged)
    {
        try
        {
            var chunk = StreamChunk.FromUtf8(Encoding.UTF8.GetBytes(json));
            if (asChanged)
            {
                chunk.MarkModified();
            }

            chunk.Format = new CompletionsFormat(stream: true);
            return string.Join("|", chunk.Output.Select(o => $"{o.Kind}:{o.Slot}:{o.Text}:{o.FinishReason}:{o.InputTokens}"));
        }
        catch (BackendException)
        {
            return "refused";
        }
    }

    private static string RandomChunk(Random random)
    {
        var members = new List<string>();
        if (random.Next(4) != 0)
        {
            members.Add("\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1");
        }

        var choicesName = random.Next(12) == 0 ? "\"choic\\u0065s\"" : "\"choices\"";
        members.Add($"{choicesName}:{RandomChoices(random)}");
        if (random.Next(20) == 0)
        {
            // A second choices array: one copy judged while a client reads the other.
            members.Add($"\"choices\":{RandomChoices(random)}");
        }

        members.Add(random.Next(8) switch
        {
            0 => "\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}",
            1 => "\"usage\":null",
            2 => "\"vendor\":{\"choices\":[{\"text\":\"SECRET\"}],\"text\":1}",
            _ => "\"model\":\"gpt-3.5-turbo-instruct\"",
        });
        Shuffle(random, members);
        var space = random.Next(6) == 0 ? " " : string.Empty;
        return "{" + space + string.Join("," + space, members) + "}";
    }

    private static string RandomChoices(Random random)
    {
        switch (random.Next(25))
        {
            case 0:
                return "null";
            case 1:
                return "{\"text\":\"a\"}";
            case 2:
                return "[\"a\"]";
        }

        var count = random.Next(6) == 0 ? 2 : 1;
        var choices = new List<string>();
        for (var c = 0; c < count; c++)
        {
            choices.Add(RandomChoice(random, c));
        }

        return "[" + string.Join(",", choices) + "]";
    }

    private static string RandomChoice(Random random, int position)
    {
        var fields = new List<string>();
        var textName = random.Next(10) == 0 ? "\"te\\u0078t\"" : "\"text\"";
        if (random.Next(8) != 0)
        {
            fields.Add($"{textName}:{RandomText(random)}");
        }

        if (random.Next(25) == 0)
        {
            fields.Add($"\"text\":{RandomText(random)}");
        }

        if (random.Next(6) != 0)
        {
            fields.Add("\"index\":" + (random.Next(30) switch
            {
                0 => "\"0\"",
                1 => "1.5",
                2 => "0",
                _ => random.Next(8) == 0 ? (1 - position).ToString(System.Globalization.CultureInfo.InvariantCulture) : position.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }));
        }

        if (random.Next(30) == 0)
        {
            fields.Add("\"index\":0");
        }

        fields.Add("\"logprobs\":" + (random.Next(3) == 0
            ? "{\"tokens\":[" + JsonSerializer.Serialize(Texts[random.Next(Texts.Length)]) + "],\"token_logprobs\":[-0.1],\"top_logprobs\":[{\"x\":-1}],\"text_offset\":[0]}"
            : "null"));
        if (random.Next(3) != 0)
        {
            fields.Add("\"finish_reason\":" + random.Next(12) switch
            {
                0 => "\"stop\"",
                1 => "\"length\"",
                2 => "3",
                3 => "{\"r\":\"stop\"}",
                _ => "null",
            });
        }

        if (random.Next(10) == 0)
        {
            fields.Add("\"content_filter_results\":{\"text\":\"not the text\",\"index\":9}");
        }

        Shuffle(random, fields);
        return "{" + string.Join(",", fields) + "}";
    }

    private static string RandomText(Random random) => random.Next(14) switch
    {
        0 => "null",
        1 => "42",
        2 => "{\"t\":\"SECRET\"}",
        3 => "[\"SECRET\"]",
        4 => "\"\\ud800\"",
        5 => "\"a\\u0041\\n\"",
        _ => JsonSerializer.Serialize(Texts[random.Next(Texts.Length)]),
    };

    private static void Shuffle(Random random, List<string> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
