using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace Luthien.Control;

/// <summary>Following the policy file: its changes, and a new <c>Luthien:PolicyFile</c> from a configuration reload.</summary>
internal sealed partial class RootPolicyProvider
{
    /// <summary>A configuration reload: a new <c>Luthien:PolicyFile</c> is loaded as a changed file is.</summary>
    private void OptionsChanged(LuthienOptions options)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var path = string.IsNullOrWhiteSpace(options.PolicyFile) ? null : ResolvePath(options.PolicyFile);
            if (string.Equals(path, _path, StringComparison.Ordinal))
            {
                // The same file (or still none): the watcher follows its content.
                return;
            }

            if (path is null)
            {
                // Fail closed: a setting gone (by mistake as easily as on purpose) must not quietly drop every control
                // of the file for the default chain.
                LogPolicyFileUnset(_logger, _path!);
                return;
            }

            _path = path;
            _loadedHash = null;
            _rejectedHash = null;
            _missingSaid = false;
            Watch(path);
            ReloadLocked();
        }
    }

    /// <summary>The watcher says the file may have changed.</summary>
    private void FileTouched()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                ReloadLocked();
            }
        }
    }

    private void Watch(string path)
    {
        _watcher?.Dispose();
        _watcher = new PolicyFileWatcher(path, FileTouched, _time, _logger, Polling, Debounce);
    }

    /// <summary>Reads the file in <see cref="_path"/> and puts it in force if it changed and passes; else says why not.</summary>
    private void ReloadLocked()
    {
        var path = _path!;
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Missing for a moment during a save is the usual case, and the watcher calls again when it is back: said once.
            if (!_missingSaid)
            {
                _missingSaid = true;
                LogReloadUnreadable(_logger, path, ex.Message);
            }

            return;
        }

        _missingSaid = false;
        var hash = SHA256.HashData(bytes);
        if ((_loadedHash is not null && hash.AsSpan().SequenceEqual(_loadedHash)) ||
            (_rejectedHash is not null && hash.AsSpan().SequenceEqual(_rejectedHash)))
        {
            return;
        }

        ControlPolicy root;
        try
        {
            root = LoadAndCheck(path, Decode(bytes));
        }
        catch (PolicyLoadException ex)
        {
            _rejectedHash = hash;
            LogReloadRejected(_logger, ex.Message);
            return;
        }
        catch (Exception ex)
        {
            // A policy factory of the app's own may throw anything; the chain in force stays all the same. Its
            // message is the app's, masked as a loader's is; the exception itself is not logged (it may carry the file).
            _rejectedHash = hash;
            LogReloadRejected(_logger, PolicyFileSecrets.Mask($"Policy file '{path}': {ex.GetType().Name}: {ex.Message}", Decode(bytes)));
            return;
        }

        _root = root;
        Source = FileSource(path);
        _loadedHash = hash;
        _rejectedHash = null;
        LogReloaded(_logger, path);
        Reloaded?.Invoke(root);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Luthien.Control root policy: policy file {Path} reloaded; new transactions use it (those under way finish on the chain they started with).")]
    private static partial void LogReloaded(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien.Control root policy: the changed policy file was not loaded, and the chain in force stays until the file is fixed. {Reason}")]
    private static partial void LogReloadRejected(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien.Control root policy: policy file {Path} cannot be read ({Problem}); the chain in force stays, and the file is loaded when it can be read again.")]
    private static partial void LogReloadUnreadable(ILogger logger, string path, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Luthien.Control root policy: Luthien:PolicyFile was removed from the configuration; the chain of {Path} stays in force (going back to the default chain takes a restart).")]
    private static partial void LogPolicyFileUnset(ILogger logger, string path);
}
