using System.Text;
using System.Text.Json.Nodes;

namespace Luthien.Control.Streaming.Tests.Wire;

/// <summary>
/// Random Responses streams (messages, refusals, reasoning summaries, calls; secrets split anywhere across deltas) through
/// the policies and the finisher: whatever the policies do, the client's stream is consistent with itself.
/// </summary>
public class ResponsesFormatPropertyTests
{
    private const int Streams = 300;
    private static readonly string[] Words = ["alpha ", "beta ", "SECRET-123456 ", "gamma, ", "SECRET-987654", " delta.", "é ", "日本 "];

    [Test]
    public async Task Stream_RandomStreamsRedacted_RepeatsMatchDeltasAndNoSecretAnywhere()
    {
        var random = new Random(4242);
        for (var n = 0; n < Streams; n++)
        {
            var events = RandomStream(random, out _);
            var written = await RunAsync(new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Redact, "[R]"), events);

            Assert.That(written.Raw, Has.None.Contains("SECRET-"), $"stream {n}");
            AssertConsistent(written.Events, $"stream {n}");
            Assert.That((string?)written.Events[^1]["type"], Is.EqualTo("response.completed"), $"stream {n}");
        }
    }

    [Test]
    public async Task Stream_RandomStreamsNothingMatches_PassByteForByte()
    {
        var random = new Random(77);
        for (var n = 0; n < Streams; n++)
        {
            var events = RandomStream(random, out _);
            var written = await RunAsync(new SerialPolicy([new ResponseContentPolicy(["NEVER-[0-9]{9}"], ContentAction.Redact), new ToolCallPolicy(null, ["nothing_blocked"])]), events);

            Assert.That(written.Raw, Is.EqualTo(events), $"stream {n}");
        }
    }

    [Test]
    public async Task Stream_RandomStreamsBlocked_EndIncompleteConsistentAndClean()
    {
        var random = new Random(99);
        for (var n = 0; n < Streams; n++)
        {
            var events = RandomStream(random, out var secrets);
            var written = await RunAsync(new SerialPolicy([new ToolCallPolicy(null, ["delete_files"]), new ResponseContentPolicy(["SECRET-[0-9]{6}"], ContentAction.Block)]), events);

            Assert.That(written.Raw, Has.None.Contains("SECRET-").And.None.Contains("delete_files"), $"stream {n}");
            AssertConsistent(written.Events, $"stream {n}");
            var last = (string?)written.Events[^1]["type"];
            if (secrets)
            {
                Assert.That(last, Is.EqualTo("response.incomplete"), $"stream {n}");
                Assert.That((string?)written.Events[^1]["response"]!["incomplete_details"]!["reason"], Is.EqualTo("content_filter"), $"stream {n}");
            }
            else
            {
                Assert.That(last, Is.EqualTo("response.completed"), $"stream {n}");
            }
        }
    }

    /// <summary>Deltas, done events, item done events and the final response all say the same per part; numbering is contiguous.</summary>
    private static void AssertConsistent(List<JsonObject> events, string label)
    {
        var said = new Dictionary<string, StringBuilder>();
        var added = new List<int>();
        var sequence = (int)events[0]["sequence_number"]!;
        foreach (var e in events)
        {
            Assert.That((int)e["sequence_number"]!, Is.EqualTo(sequence++), label);
            var type = (string)e["type"]!;
            if (type == "response.output_item.added")
            {
                added.Add((int)e["output_index"]!);
            }

            var part = e["summary_index"] ?? e["content_index"];
            var key = $"{e["output_index"]}/{(e["summary_index"] is null ? "c" : "s")}{part}";
            if (type.EndsWith(".delta", StringComparison.Ordinal))
            {
                if (!said.TryGetValue(key, out var sb))
                {
                    said[key] = sb = new StringBuilder();
                }

                sb.Append((string)e["delta"]!);
            }
            else if (type is "response.output_text.done" or "response.reasoning_summary_text.done")
            {
                Assert.That((string?)e["text"], Is.EqualTo(said.GetValueOrDefault(key)?.ToString() ?? string.Empty), $"{label} {type}");
            }
            else if (type == "response.refusal.done")
            {
                Assert.That((string?)e["refusal"], Is.EqualTo(said.GetValueOrDefault(key)?.ToString() ?? string.Empty), $"{label} {type}");
            }
            else if (type == "response.function_call_arguments.done")
            {
                Assert.That((string?)e["arguments"], Is.EqualTo(said.GetValueOrDefault($"{e["output_index"]}/c")?.ToString() ?? string.Empty), $"{label} {type}");
            }
            else if (type is "response.output_item.done")
            {
                AssertItem((JsonObject)e["item"]!, (int)e["output_index"]!, said, label);
            }
            else if (type is "response.completed" or "response.incomplete")
            {
                var output = e["response"]!["output"]!.AsArray();
                for (var i = 0; i < output.Count; i++)
                {
                    AssertItem((JsonObject)output[i]!, i, said, label);
                }
            }
        }

        Assert.That(added, Is.EqualTo(Enumerable.Range(0, added.Count)), $"{label}: output_index contiguous");
    }

    private static void AssertItem(JsonObject item, int index, Dictionary<string, StringBuilder> said, string label)
    {
        string Said(string key) => said.GetValueOrDefault(key)?.ToString() ?? string.Empty;
        switch ((string)item["type"]!)
        {
            case "function_call":
                Assert.That((string?)item["arguments"], Is.EqualTo(Said($"{index}/c")), $"{label} call {index}");
                break;
            case "message":
                var content = item["content"]!.AsArray();
                for (var i = 0; i < content.Count; i++)
                {
                    var text = (string?)(content[i]!["text"] ?? content[i]!["refusal"]);
                    Assert.That(text, Is.EqualTo(Said($"{index}/c{i}")), $"{label} message {index}");
                }

                break;
            case "reasoning":
                var summary = item["summary"]!.AsArray();
                for (var i = 0; i < summary.Count; i++)
                {
                    Assert.That((string?)summary[i]!["text"], Is.EqualTo(Said($"{index}/s{i}")), $"{label} reasoning {index}");
                }

                break;
        }
    }

    private static string[] RandomStream(Random random, out bool secrets)
    {
        var stream = new ResponsesStream();
        var items = random.Next(1, 5);
        secrets = false;
        for (var i = 0; i < items; i++)
        {
            switch (random.Next(5))
            {
                case 0:
                    var parts = new string[random.Next(1, 3)][];
                    for (var p = 0; p < parts.Length; p++)
                    {
                        parts[p] = Pieces(random, ref secrets);
                    }

                    stream.Reasoning(parts);
                    break;
                case 1:
                    stream.Refusal(Pieces(random, ref secrets));
                    break;
                case 2:
                    var blocked = random.Next(3) == 0;
                    secrets |= blocked;
                    stream.Call(blocked ? "delete_files" : "get_weather", "{\"q\":", "\"x\"}");
                    break;
                default:
                    stream.Message(Pieces(random, ref secrets));
                    break;
            }
        }

        return stream.Completed();
    }

    /// <summary>Random words cut into random deltas (a secret can be cut anywhere, even inside a multi-byte character's word).</summary>
    private static string[] Pieces(Random random, ref bool secrets)
    {
        var text = string.Concat(Enumerable.Range(0, random.Next(1, 8)).Select(_ => Words[random.Next(Words.Length)]));
        secrets |= text.Contains("SECRET-", StringComparison.Ordinal);
        var pieces = new List<string>();
        var at = 0;
        while (at < text.Length)
        {
            var length = Math.Min(text.Length - at, random.Next(1, 9));
            pieces.Add(text.Substring(at, length));
            at += length;
        }

        return [.. pieces];
    }

    private static Task<(List<string> Raw, List<JsonObject> Events)> RunAsync(ControlPolicy policy, string[] events) => ResponsesStream.RunAsync(policy, events);
}
