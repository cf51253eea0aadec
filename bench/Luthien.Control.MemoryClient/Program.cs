// The client side of bench/memory.sh: drives one scenario against the sample and samples the sample's resident memory
// (VmRSS in /proc/<pid>/status) every 100 ms meanwhile. Loopback only; every wait is bounded.
//   stream    --url http://127.0.0.1:6611 --pid 1234 --bytes 1073741824                  read everything as fast as possible
//   pause     --url ... --pid ... --bytes ... --pause-seconds 8                           read one chunk, pause, read the rest
//   nonewline --url ... --pid ... --bytes 209715200                                      one event without a newline
//   uploads   --url ... --pid ... --uploads 100 --declared 10485760 --rate 300 --upload-seconds 10
// Common: --cap-mb 3072 (stop the scenario once the sample's RSS passes it), --kill-mb 4096 (kill the sample past it),
// --after-seconds 5, --timeout-seconds 90. Prints "baseline_kib=… peak_kib=… after_kib=… capped=… killed=… seconds=…"
// and then "outcome: …" (what the client saw).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

var options = args.Select((a, i) => (a, i)).Where(x => x.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(x => x.a[2..], x => x.i + 1 < args.Length ? args[x.i + 1] : "true");
var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "stream";
string Option(string name, string fallback) => options.GetValueOrDefault(name, fallback);
double Number(string name, double fallback) => double.Parse(Option(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

var baseUrl = new Uri(Option("url", "http://127.0.0.1:6611"));
if (!IPAddress.IsLoopback(IPAddress.Parse(baseUrl.Host)))
{
    Console.Error.WriteLine("memory client: loopback addresses only");
    return 2;
}

var pid = int.Parse(Option("pid", "0"), CultureInfo.InvariantCulture);
var bytes = (long)Number("bytes", 1L << 30);
var capKib = (long)Number("cap-mb", 3072) * 1024;
var killKib = (long)Number("kill-mb", 4096) * 1024;
var afterSeconds = Number("after-seconds", 5);
var timeout = TimeSpan.FromSeconds(Number("timeout-seconds", 90));

var memory = new RssSampler(pid, capKib, killKib);
var baseline = memory.Read() ?? 0;
using var scenario = new CancellationTokenSource(timeout);
memory.Capped += () => scenario.Cancel();
var sampling = memory.RunAsync();
var clock = Stopwatch.StartNew();

using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
{
    BaseAddress = baseUrl,
    Timeout = Timeout.InfiniteTimeSpan,
};

string outcome;
var waitedAfter = false;
try
{
    outcome = mode switch
    {
        "stream" => await StreamAsync(http, "bench-big-stream", bytes, TimeSpan.Zero, memory, baseline, scenario.Token),
        "pause" => await StreamAsync(http, "bench-big-stream", bytes, TimeSpan.FromSeconds(Number("pause-seconds", 8)), memory, baseline, scenario.Token),
        "nonewline" => await StreamAsync(http, "bench-no-newline", bytes, TimeSpan.Zero, memory, baseline, scenario.Token),
        "uploads" => await UploadsAsync(http, baseUrl, (int)Number("uploads", 100), (long)Number("declared", 10 * 1024 * 1024),
            Number("rate", 300), TimeSpan.FromSeconds(Number("upload-seconds", 10)), TimeSpan.FromSeconds(afterSeconds), scenario.Token),
        _ => throw new ArgumentException($"unknown mode {mode}"),
    };
    waitedAfter = mode == "uploads"; // the uploads scenario checks /health during its own wait afterwards
}
catch (HttpRequestException e) when (!scenario.IsCancellationRequested)
{
    outcome = $"request failed: {e.Message}";
}
catch (OperationCanceledException) when (scenario.IsCancellationRequested)
{
    outcome = memory.IsCapped ? "stopped by the client: the sample's RSS passed the cap" : $"timed out after {timeout.TotalSeconds:F0} s";
}

var scenarioSeconds = clock.Elapsed.TotalSeconds;
if (!waitedAfter)
{
    await Task.Delay(TimeSpan.FromSeconds(afterSeconds));
}

var after = memory.Read();
memory.Stop();
await sampling;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"baseline_kib={baseline} peak_kib={memory.PeakKib} after_kib={(after is { } a ? a.ToString(CultureInfo.InvariantCulture) : "n/a")} capped={(memory.IsCapped ? 1 : 0)} killed={(memory.Killed ? 1 : 0)} seconds={scenarioSeconds:F1} client_cpu_s={Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1}"));
Console.WriteLine($"outcome: {outcome}");
return 0;

// A streamed chat request whose model tells the fake backend what to send. Reads everything (after one chunk and a pause,
// when asked) and describes the answer: status, bytes, how it ended.
static async Task<string> StreamAsync(HttpClient http, string kind, long bytes, TimeSpan pause, RssSampler memory, long baseline, CancellationToken cancel)
{
    var body = $$"""{"model":"{{kind}}:{{bytes}}","stream":true,"messages":[{"role":"user","content":"Tell me about foxes."}]}""";
    using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    var start = Stopwatch.StartNew();
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
    await using var stream = await response.Content.ReadAsStreamAsync(cancel);
    var buffer = new byte[256 * 1024];
    var head = new StringBuilder();
    var tail = new Tail(4096);
    long received = 0;
    var ended = "the end of the answer";
    var paused = "";
    try
    {
        if (pause > TimeSpan.Zero)
        {
            var first = await stream.ReadAsync(buffer.AsMemory(0, 4096), cancel);
            received += first;
            head.Append(Encoding.UTF8.GetString(buffer, 0, first));
            tail.Add(buffer.AsSpan(0, first));
            await Task.Delay(pause, cancel);
            paused = string.Create(CultureInfo.InvariantCulture,
                $"read {first} B, paused {pause.TotalSeconds:F0} s (RSS growth by the end of the pause +{(memory.PeakKib - baseline) / 1024} MB), then ");
            start.Restart();
        }

        int read;
        while ((read = await stream.ReadAsync(buffer, cancel)) > 0)
        {
            if (head.Length < 512)
            {
                head.Append(Encoding.UTF8.GetString(buffer, 0, Math.Min(read, 512)));
            }

            received += read;
            tail.Add(buffer.AsSpan(0, read));
        }
    }
    catch (HttpRequestException e)
    {
        ended = $"a broken connection ({e.InnerException?.GetType().Name ?? e.GetType().Name})";
    }
    catch (IOException e)
    {
        ended = $"a broken connection ({e.GetType().Name})";
    }
    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
    {
        ended = memory.IsCapped ? "the client, stopping at the RSS cap" : "the client, at its time limit";
        paused = paused.Length > 0 || pause == TimeSpan.Zero ? paused
            : string.Create(CultureInfo.InvariantCulture, $"read {received} B, stopped during the pause (RSS growth +{(memory.PeakKib - baseline) / 1024} MB), ");
    }

    var seconds = start.Elapsed.TotalSeconds;
    var last = tail.Text();
    var how = last.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal) ? "[DONE]"
        : last.Contains("\"error\"", StringComparison.Ordinal) ? $"error event {Code(last)}"
        : (int)response.StatusCode >= 400 ? $"body {Clip(head.ToString())}"
        : "no [DONE] and no error event";
    return string.Create(CultureInfo.InvariantCulture,
        $"{(int)response.StatusCode}; {paused}{Mb(received)} in {seconds:F1} s ({Mb((long)(received / Math.Max(seconds, 0.001)))}/s); {how}; ended by {ended}");
}

// Raw sockets: each upload declares a large body and then trickles it; meanwhile and afterwards GET /health must answer.
static async Task<string> UploadsAsync(HttpClient http, Uri baseUrl, int count, long declared, double rate, TimeSpan duration, TimeSpan after,
    CancellationToken cancel)
{
    const int TicksPerSecond = 10;
    var piece = Math.Max(1, (int)(rate / TicksPerSecond));
    var prefix = Encoding.ASCII.GetBytes("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"");
    var filler = Enumerable.Repeat((byte)'a', piece).ToArray();
    var headers = Encoding.ASCII.GetBytes(
        $"POST /v1/chat/completions HTTP/1.1\r\nHost: {baseUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n");
    var sockets = new List<Socket>();
    var answers = new List<Task<string?>>();
    var failedSends = 0;
    var health = new List<(string When, int Status, double Ms)>();
    try
    {
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(baseUrl.Host), baseUrl.Port), cancel);
            await socket.SendAsync(headers, SocketFlags.None, cancel);
            await socket.SendAsync(prefix, SocketFlags.None, cancel);
            sockets.Add(socket);
            answers.Add(FirstLineAsync(socket));
        }

        var clock = Stopwatch.StartNew();
        var checks = new[] { duration * 0.25, duration * 0.5, duration * 0.75 };
        var nextCheck = 0;
        var sent = new long[count];
        for (var tick = 0; clock.Elapsed < duration && tick < duration.TotalSeconds * TicksPerSecond * 2; tick++)
        {
            for (var i = 0; i < sockets.Count; i++)
            {
                if (sent[i] < 0 || sent[i] + piece + prefix.Length >= declared)
                {
                    continue;
                }

                try
                {
                    await sockets[i].SendAsync(filler, SocketFlags.None, cancel);
                    sent[i] += piece;
                }
                catch (SocketException)
                {
                    sent[i] = -1;
                    failedSends++;
                }
            }

            if (nextCheck < checks.Length && clock.Elapsed >= checks[nextCheck])
            {
                nextCheck++;
                health.Add(await HealthAsync(http, "during"));
            }

            var wait = TimeSpan.FromSeconds((tick + 1.0) / TicksPerSecond) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancel);
            }
        }
    }
    finally
    {
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }
    }

    var early = answers.Where(t => t.IsCompletedSuccessfully && t.Result is not null).Select(t => t.Result!).ToList();
    var closed = Stopwatch.StartNew();
    health.Add(await HealthAsync(http, "after"));
    var rest = after - closed.Elapsed;
    if (rest > TimeSpan.Zero)
    {
        await Task.Delay(rest, CancellationToken.None);
    }

    health.Add(await HealthAsync(http, "after"));
    string Health(string when)
    {
        var list = health.Where(h => h.When == when).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"{list.Count(h => h.Status == 200)}/{list.Count} × 200 (slowest {(list.Count > 0 ? list.Max(h => h.Ms) : 0):F0} ms)");
    }

    var answered = early.Count == 0 ? "none answered before the client closed"
        : string.Join(", ", early.GroupBy(a => a).Select(g => $"{g.Count()} × {g.Key}"));
    return $"{count} uploads of declared {Mb(declared)}: {answered}; {failedSends} sends refused; /health during {Health("during")}, after {Health("after")}";
}

static async Task<(string, int, double)> HealthAsync(HttpClient http, string when)
{
    var start = Stopwatch.StartNew();
    try
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        using var response = await http.GetAsync("health", cancel.Token);
        return (when, (int)response.StatusCode, start.Elapsed.TotalMilliseconds);
    }
    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
    {
        return (when, 0, start.Elapsed.TotalMilliseconds);
    }
}

// The status line of whatever the server answers on an upload's connection before the client closes it.
static async Task<string?> FirstLineAsync(Socket socket)
{
    var buffer = new byte[512];
    try
    {
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
        if (n == 0)
        {
            return "closed by the server";
        }

        var text = Encoding.ASCII.GetString(buffer, 0, n);
        var end = text.IndexOf('\r', StringComparison.Ordinal);
        return end > 0 ? text[..end] : text;
    }
    catch (Exception e) when (e is SocketException or ObjectDisposedException)
    {
        return null;
    }
}

static string Mb(long value) => string.Create(CultureInfo.InvariantCulture, $"{value / 1048576.0:F1} MB");

static string Clip(string text) => text.Length > 160 ? text[..160].ReplaceLineEndings(" ") + "…" : text.ReplaceLineEndings(" ");

static string Code(string text)
{
    var at = text.LastIndexOf("\"code\":\"", StringComparison.Ordinal);
    if (at < 0)
    {
        return "(no code)";
    }

    var start = at + 8;
    var end = text.IndexOf('"', start);
    return end > start ? $"`{text[start..end]}`" : "(no code)";
}

// The last bytes of an answer, to see how it ended.
internal sealed class Tail(int size)
{
    private readonly byte[] _bytes = new byte[size];
    private int _count;

    public void Add(ReadOnlySpan<byte> data)
    {
        if (data.Length >= _bytes.Length)
        {
            data[^_bytes.Length..].CopyTo(_bytes);
            _count = _bytes.Length;
            return;
        }

        var keep = Math.Min(_count, _bytes.Length - data.Length);
        Array.Copy(_bytes, _count - keep, _bytes, 0, keep);
        data.CopyTo(_bytes.AsSpan(keep));
        _count = keep + data.Length;
    }

    public string Text() => Encoding.UTF8.GetString(_bytes, 0, _count);
}

// Samples the sample's VmRSS every 100 ms; past the cap it tells the scenario to stop, past the kill limit it kills the
// sample (a process the benchmark itself started), so that no scenario takes the machine down.
internal sealed class RssSampler(int pid, long capKib, long killKib)
{
    private volatile bool _stop;
    private long _peak;

    public event Action? Capped;

    public long PeakKib => Interlocked.Read(ref _peak);

    public bool IsCapped { get; private set; }

    public bool Killed { get; private set; }

    public long? Read()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    public void Stop() => _stop = true;

    public async Task RunAsync()
    {
        while (!_stop)
        {
            if (Read() is not { } rss)
            {
                return;
            }

            if (rss > Interlocked.Read(ref _peak))
            {
                Interlocked.Exchange(ref _peak, rss);
            }

            if (rss > capKib && !IsCapped)
            {
                IsCapped = true;
                Capped?.Invoke();
            }

            if (rss > killKib && !Killed)
            {
                Killed = true;
                using var process = Process.GetProcessById(pid);
                process.Kill();
                return;
            }

            await Task.Delay(100);
        }
    }
}
