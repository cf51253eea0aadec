using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Luthien.Control.AspNetCore.Tests.Admin;

/// <summary>
/// Debian's headless Chromium driven over the Chrome DevTools Protocol (a websocket, no package, nothing downloaded):
/// one tab, navigation, script evaluation, screenshots.
/// </summary>
internal sealed partial class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _calls = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _awaited = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _reader;
    private int _nextId;
    private string _session = string.Empty;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>What the page logged as errors (CSP violations, failed loads, script errors).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Starts the browser and opens a tab of the given size.</summary>
    public static async Task<HeadlessChromium> LaunchAsync(int width, int height)
    {
        var profile = Path.Combine(Path.GetTempPath(), "luthien-admin-tests", "chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars", "--force-color-profile=srgb",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var browser = new HeadlessChromium(process, profile);
        try
        {
            _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
            var endpoint = await ReadEndpointAsync(process).WaitAsync(Timeout);
            await browser._socket.ConnectAsync(endpoint, CancellationToken.None).WaitAsync(Timeout);
            browser._reader = browser.ReadAsync();
            var target = await browser.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, session: false);
            var attached = await browser.SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target.GetProperty("targetId").GetString(), ["flatten"] = true }, session: false);
            browser._session = attached.GetProperty("sessionId").GetString()!;
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Log.enable");
            await browser.SendAsync("Runtime.enable");
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Opens a URL and waits for its load event.</summary>
    public async Task NavigateAsync(Uri url)
    {
        var loaded = Await("Page.loadEventFired");
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        await loaded.WaitAsync(Timeout);
    }

    /// <summary>Runs script that makes the page navigate (a click on a link or a submit button), and waits for the next page.</summary>
    public async Task NavigateByAsync(string script)
    {
        var loaded = Await("Page.loadEventFired");
        await EvaluateAsync(script);
        await loaded.WaitAsync(Timeout);
    }

    /// <summary>Evaluates an expression in the page; its value as JSON.</summary>
    public async Task<JsonElement> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result.TryGetProperty("exceptionDetails", out var exception))
        {
            throw new InvalidOperationException("Script failed: " + exception.GetRawText());
        }

        return result.GetProperty("result").TryGetProperty("value", out var value) ? value : default;
    }

    /// <summary>A PNG of the whole page (not just the viewport).</summary>
    public async Task<byte[]> ScreenshotAsync(bool fullPage)
    {
        var parameters = new JsonObject { ["format"] = "png" };
        if (fullPage)
        {
            var metrics = await SendAsync("Page.getLayoutMetrics");
            var size = metrics.GetProperty("cssContentSize");
            parameters["captureBeyondViewport"] = true;
            parameters["clip"] = new JsonObject
            {
                ["x"] = 0,
                ["y"] = 0,
                ["width"] = size.GetProperty("width").GetDouble(),
                ["height"] = size.GetProperty("height").GetDouble(),
                ["scale"] = 1,
            };
        }

        var shot = await SendAsync("Page.captureScreenshot", parameters);
        return Convert.FromBase64String(shot.GetProperty("data").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // Gone already.
        }

        _socket.Dispose();
        _process.Dispose();
        _stop.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // A file the browser still held; the temporary directory is cleaned by the system.
        }
    }

    private Task<JsonElement> Await(string method)
    {
        var waiter = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _awaited[method] = waiter;
        return waiter.Task;
    }

    private async Task<JsonElement> SendAsync(string method, JsonObject? parameters = null, bool session = true)
    {
        var id = Interlocked.Increment(ref _nextId);
        var call = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (session)
        {
            call["sessionId"] = _session;
        }

        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = answer;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(call.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        return await answer.Task.WaitAsync(Timeout);
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var received = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage)
                {
                    continue;
                }

                using (var document = JsonDocument.Parse(message.ToArray()))
                {
                    Dispatch(document.RootElement);
                }

                message.SetLength(0);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
            // The browser is closing.
        }

        foreach (var call in _calls.Values)
        {
            call.TrySetException(new InvalidOperationException("The browser went away."));
        }
    }

    private void Dispatch(JsonElement message)
    {
        if (message.TryGetProperty("id", out var id) && _calls.TryRemove(id.GetInt32(), out var call))
        {
            if (message.TryGetProperty("error", out var error))
            {
                call.TrySetException(new InvalidOperationException("DevTools error: " + error.GetRawText()));
            }
            else
            {
                call.TrySetResult(message.GetProperty("result").Clone());
            }

            return;
        }

        if (!message.TryGetProperty("method", out var methodElement))
        {
            return;
        }

        var method = methodElement.GetString()!;
        var parameters = message.TryGetProperty("params", out var p) ? p.Clone() : default;
        if (method == "Log.entryAdded" && parameters.GetProperty("entry").GetProperty("level").GetString() == "error")
        {
            Errors.Enqueue(parameters.GetProperty("entry").GetProperty("text").GetString() ?? "?");
        }
        else if (method == "Runtime.exceptionThrown")
        {
            Errors.Enqueue(parameters.GetRawText());
        }

        if (_awaited.TryRemove(method, out var waiter))
        {
            waiter.TrySetResult(parameters);
        }
    }

    private static async Task<Uri> ReadEndpointAsync(Process process)
    {
        while (await process.StandardError.ReadLineAsync() is { } line)
        {
            var match = EndpointPattern().Match(line);
            if (match.Success)
            {
                // Keep draining stderr, or the browser blocks once the pipe is full.
                _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
                return new Uri(match.Groups[1].Value);
            }
        }

        throw new InvalidOperationException("Chromium exited without a DevTools endpoint.");
    }

    [GeneratedRegex(@"DevTools listening on (ws://\S+)")]
    private static partial Regex EndpointPattern();
}
