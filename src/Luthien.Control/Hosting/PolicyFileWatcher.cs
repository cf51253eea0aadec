using Microsoft.Extensions.Logging;

namespace Luthien.Control;

/// <summary>
/// Says, once things have settled, that a policy file may have changed. It watches the file's whole folder, not the one
/// name: an editor that saves by writing a new file and renaming it over the old one, a file briefly missing, and a
/// Kubernetes ConfigMap (whose files are links through a <c>..data</c> link that is swapped) all show there as changes
/// of other names. So the callback means "look again", and the caller compares what it reads with what is in force.
/// </summary>
/// <remarks>
/// Events are debounced: an editor writes in several steps, and the file is read once they have stopped for
/// <see cref="DefaultDebounce"/> — or, in a folder whose other files never stop changing, after ten times that. Where file events do not arrive (some container volumes, network shares), polling
/// (<c>DOTNET_USE_POLLING_FILE_WATCHER=true</c>, as for ASP.NET Core's own configuration files) looks every
/// <see cref="DefaultPollInterval"/> instead; a folder that cannot be watched (missing, or the system's limit of
/// watchers reached) is polled too, and that is logged.
/// </remarks>
internal sealed partial class PolicyFileWatcher : IDisposable
{
    /// <summary>How long the folder must be quiet before the file is read.</summary>
    public static readonly TimeSpan DefaultDebounce = TimeSpan.FromMilliseconds(500);

    /// <summary>How often a polled file is read: ASP.NET Core's polling file watcher looks as often.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(4);

    private readonly Action _changed;
    private readonly TimeSpan _debounce;
    private readonly TimeSpan _maxDelay;
    private readonly TimeProvider _time;
    private readonly ITimer _settle;
    private readonly ITimer? _poll;
    private readonly IDisposable? _watcher;
    private int _disposed;
    private int _requests;

    // When the first event not yet followed by a look came (a timestamp), or 0.
    private long _burstStart;

    /// <summary>Starts watching.</summary>
    /// <param name="path">The policy file's full path.</param>
    /// <param name="changed">Called (on a timer's thread, never twice at once) when the file may have changed.</param>
    /// <param name="time">The clock of the debounce and the polling.</param>
    /// <param name="logger">Where a folder that cannot be watched is said.</param>
    /// <param name="polling">Poll instead of waiting for file events.</param>
    /// <param name="debounce">How long events must stop before <paramref name="changed"/> is called.</param>
    /// <param name="pollInterval">How often a polled file is looked at.</param>
    public PolicyFileWatcher(string path, Action changed, TimeProvider time, ILogger logger, bool polling, TimeSpan? debounce = null, TimeSpan? pollInterval = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(changed);
        ArgumentNullException.ThrowIfNull(time);
        Path = path;
        _changed = changed;
        _debounce = debounce ?? DefaultDebounce;

        // The folder is watched whole, and other files in it may be written all the time (an audit database, a log):
        // the debounce alone would then never end, and a changed policy file would never be read.
        _maxDelay = _debounce * 10;
        _time = time;
        _settle = time.CreateTimer(_ => Settled(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (!polling)
        {
            _watcher = TryWatch(path, out var problem);
            if (_watcher is null)
            {
                LogPolling(logger, path, problem!);
            }
        }

        if (_watcher is null)
        {
            var interval = pollInterval ?? DefaultPollInterval;
            _poll = time.CreateTimer(_ => Settled(), null, interval, interval);
        }
    }

    /// <summary>The watched file.</summary>
    public string Path { get; }

    /// <summary>Whether the file is polled rather than watched.</summary>
    public bool IsPolling => _poll is not null;

    /// <summary>Whether <c>DOTNET_USE_POLLING_FILE_WATCHER</c> asks for polling (<c>true</c> or <c>1</c>), as ASP.NET Core reads it.</summary>
    public static bool PollingRequested() =>
        Environment.GetEnvironmentVariable("DOTNET_USE_POLLING_FILE_WATCHER") is { } value &&
        (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>Something happened in the folder: look again once it has been quiet for the debounce time.</summary>
    internal void Touched()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            var now = Math.Max(_time.GetTimestamp(), 1);
            var start = Interlocked.CompareExchange(ref _burstStart, now, 0);
            if (start != 0 && _time.GetElapsedTime(start, now) >= _maxDelay)
            {
                // Busy for too long: the look already set is let come, within one debounce time.
                return;
            }

            try
            {
                _settle.Change(_debounce, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Disposed between the check and the call: nothing more to say.
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _watcher?.Dispose();
        _poll?.Dispose();
        _settle.Dispose();
    }

    private IDisposable? TryWatch(string path, out string? problem)
    {
        var folder = System.IO.Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(folder) || !Directory.Exists(folder))
        {
            problem = "its folder does not exist";
            return null;
        }

        return SharedFolderWatch.Subscribe(folder, Touched, out problem);
    }

    private void Settled()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        // Timer callbacks may overlap (a poll while a slow read runs): one look at a time, and a call that came during
        // a look makes one more look, since that look may have read the file before the last write.
        if (Interlocked.Increment(ref _requests) > 1)
        {
            return;
        }

        // Events from here on are after this look began: they start a new wait.
        Volatile.Write(ref _burstStart, 0);

        try
        {
            do
            {
                Volatile.Write(ref _requests, 1);
                _changed();
            }
            while (Interlocked.CompareExchange(ref _requests, 0, 1) != 1 && Volatile.Read(ref _disposed) == 0);
        }
        catch
        {
            Volatile.Write(ref _requests, 0);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Policy file {Path}: its folder cannot be watched for changes ({Problem}); it is polled instead.")]
    private static partial void LogPolling(ILogger logger, string path, string problem);

    /// <summary>
    /// One <see cref="FileSystemWatcher"/> per folder for the whole process, however many hosts watch a file in it: each
    /// costs the system an inotify instance on Linux, a resource shared by every process of the user (128 by default).
    /// </summary>
    private sealed class SharedFolderWatch
    {
        private static readonly Dictionary<string, SharedFolderWatch> Folders = new(StringComparer.Ordinal);
        private static readonly Lock Gate = new();

        private readonly string _folder;
        private readonly FileSystemWatcher _watcher;
        private Action[] _listeners = [];

        private SharedFolderWatch(string folder, FileSystemWatcher watcher)
        {
            _folder = folder;
            _watcher = watcher;
        }

        public static IDisposable? Subscribe(string folder, Action touched, out string? problem)
        {
            lock (Gate)
            {
                if (!Folders.TryGetValue(folder, out var shared))
                {
                    FileSystemWatcher? watcher = null;
                    try
                    {
                        watcher = new FileSystemWatcher(folder)
                        {
                            IncludeSubdirectories = false,
                            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                        };
                        shared = new SharedFolderWatch(folder, watcher);
                        watcher.Changed += (_, _) => shared.Raise();
                        watcher.Created += (_, _) => shared.Raise();
                        watcher.Deleted += (_, _) => shared.Raise();
                        watcher.Renamed += (_, _) => shared.Raise();

                        // Events were lost (the system's buffer overflowed): the file may have changed among them.
                        watcher.Error += (_, _) => shared.Raise();
                        watcher.EnableRaisingEvents = true;
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or PlatformNotSupportedException)
                    {
                        // On Linux the per-user limit of inotify instances ends here, as an IOException saying so.
                        watcher?.Dispose();
                        problem = ex.Message;
                        return null;
                    }

                    Folders.Add(folder, shared);
                }

                shared._listeners = [.. shared._listeners, touched];
                problem = null;
                return new Subscription(shared, touched);
            }
        }

        private void Raise()
        {
            foreach (var listener in Volatile.Read(ref _listeners))
            {
                listener();
            }
        }

        private void Unsubscribe(Action touched)
        {
            lock (Gate)
            {
                var index = Array.IndexOf(_listeners, touched);
                if (index < 0)
                {
                    return;
                }

                _listeners = [.. _listeners[..index], .. _listeners[(index + 1)..]];
                if (_listeners.Length == 0)
                {
                    Folders.Remove(_folder);
                    _watcher.Dispose();
                }
            }
        }

        private sealed class Subscription(SharedFolderWatch shared, Action touched) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    shared.Unsubscribe(touched);
                }
            }
        }
    }
}
