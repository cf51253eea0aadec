// Streaming load for the end-to-end comparison: sends streamed chat completions and measures, per request, the time to
// the first data event and to the end of the stream. Loopback only; bounded by --seconds or --requests.
//   stream  --url http://127.0.0.1:6592/v1/chat/completions --concurrency 32 --seconds 10
//   hold    --url ... --concurrency 2000 --seconds 20     (opens slow streams and keeps them open)
//   --api responses   streamed Responses API requests (the url then ends in /v1/responses; a stream ends with response.completed)
using System.Diagnostics;
using System.Net;
using System.Text;

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length ? args[x.i + 1] : "true");
var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "stream";
var url = options.GetValueOrDefault("url", "http://127.0.0.1:6592/v1/chat/completions");
var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "32"));
var seconds = double.Parse(options.GetValueOrDefault("seconds", "10"));
var maxRequests = int.Parse(options.GetValueOrDefault("requests", "0"));
var responsesApi = options.GetValueOrDefault("api", "chat") == "responses";
var body = responsesApi
    ? """{"model":"gpt-4o-mini","stream":true,"input":"Tell me about foxes."}"""
    : """{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Tell me about foxes."}]}""";
var endMarker = responsesApi ? "event: response.completed\n" : "data: [DONE]\n\n";

using var http = new HttpClient(new SocketsHttpHandler
{
    MaxConnectionsPerServer = int.MaxValue,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    AutomaticDecompression = DecompressionMethods.None,
    UseProxy = false,
})
{ Timeout = Timeout.InfiniteTimeSpan };

if (mode == "hold")
{
    // Open the streams, read their first event, and keep them open until the time is up.
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    var opened = 0;
    var tasks = Enumerable.Range(0, concurrency).Select(async _ =>
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(stop.Token);
            var buffer = new byte[4096];
            if (await stream.ReadAsync(buffer, stop.Token) > 0)
            {
                Interlocked.Increment(ref opened);
            }

            while (await stream.ReadAsync(buffer, stop.Token) > 0)
            {
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (HttpRequestException)
        {
        }
    }).ToList();
    var report = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(1000);
            Console.WriteLine($"open={Volatile.Read(ref opened)}");
        }
    });
    await Task.WhenAll(tasks);
    Console.WriteLine($"held={opened}");
    return;
}

var firstChunk = new List<double>();
var total = new List<double>();
var errors = 0;
var sent = 0;
var clock = Stopwatch.StartNew();
var deadline = TimeSpan.FromSeconds(seconds);
var gate = new object();

var workers = Enumerable.Range(0, concurrency).Select(async _ =>
{
    var buffer = new byte[16 * 1024];
    while (clock.Elapsed < deadline && (maxRequests == 0 || Interlocked.Increment(ref sent) <= maxRequests))
    {
        var start = Stopwatch.GetTimestamp();
        double? first = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var done = false;
            var tail = new StringBuilder();
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                first ??= Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                tail.Append(Encoding.UTF8.GetString(buffer, 0, read));

                // A chat stream ends with [DONE]; a Responses stream with its response.completed event (and its data).
                done |= responsesApi && tail.ToString().Contains(endMarker, StringComparison.Ordinal);
                if (tail.Length > 64)
                {
                    tail.Remove(0, tail.Length - 64);
                }
            }

            done |= !responsesApi && tail.ToString().EndsWith(endMarker, StringComparison.Ordinal);
            if (!response.IsSuccessStatusCode || !done)
            {
                Interlocked.Increment(ref errors);
                continue;
            }

            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            lock (gate)
            {
                firstChunk.Add(first ?? elapsed);
                total.Add(elapsed);
            }
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref errors);
        }
    }
}).ToList();
await Task.WhenAll(workers);
var wall = clock.Elapsed.TotalSeconds;

static double Percentile(List<double> values, double p)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];
}

// One machine-readable line for the script.
Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
    $"completions={total.Count} errors={errors} seconds={wall:F2} rps={total.Count / wall:F1} ttfc_p50={Percentile(firstChunk, 50):F3} ttfc_p99={Percentile(firstChunk, 99):F3} total_p50={Percentile(total, 50):F3} total_p99={Percentile(total, 99):F3}"));
