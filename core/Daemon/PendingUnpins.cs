using Imageimportd.Cache;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Queue;
using Serilog;
using Serilog.Events;

namespace Imageimportd.Daemon;

/// <summary>
/// The unpins owed for names a re-imported file no longer supplies (a rebuilt tag leaves its old <c>repo@sha256</c>
/// name, a new tag the old tag). Contract:
/// <list type="bullet">
/// <item><see cref="AddAsync"/> owes them and tries at once; <see cref="RetryAsync"/> (each scan) tries what is still
/// owed.</item>
/// <item>A name is settled, and no longer owed, when it is unpinned, when the image is gone or its pin is not ours
/// (<see cref="ImageRecords"/>), or when a present file supplies it again (then it is left pinned).</item>
/// <item>A name containerd refuses stays owed: the first refusal is a warning, a refused retry a debug line.</item>
/// </list>
/// Kept in memory only. Cancellation propagates. Thread-safe: workers add while the scan retries.
/// </summary>
public sealed class PendingUnpins
{
    private readonly ImportCache _cache;
    private readonly ImageRecords _pins;
    private readonly IFileProbe _probe;
    private readonly ILogger _log;
    private readonly Lock _gate = new();

    // Image name → the file that dropped it, for the log lines.
    private readonly Dictionary<string, string> _owed = new(StringComparer.Ordinal);

    /// <param name="cache">Read only here: which files supply a name.</param>
    public PendingUnpins(ImportCache cache, ImageRecords pins, IFileProbe probe, ILogger log)
    {
        _cache = cache;
        _pins = pins;
        _probe = probe;
        _log = log;
    }

    /// <summary>The names still owed (a copy).</summary>
    public IReadOnlyCollection<string> Names
    {
        get
        {
            lock (_gate)
            {
                return [.. _owed.Keys];
            }
        }
    }

    /// <summary><paramref name="file"/> was imported again and no longer supplies <paramref name="dropped"/>.</summary>
    public async Task AddAsync(string file, IReadOnlyList<string> dropped, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var name in dropped)
            {
                _owed[name] = file;
            }
        }

        await UnpinAsync([.. dropped.Select(name => (name, file))], firstTry: true, cancellationToken);
    }

    public async Task RetryAsync(CancellationToken cancellationToken)
    {
        List<(string Name, string File)> owed;
        lock (_gate)
        {
            owed = [.. _owed.Select(p => (p.Key, p.Value))];
        }

        if (owed.Count > 0)
        {
            await UnpinAsync(owed, firstTry: false, cancellationToken);
        }
    }

    private async Task UnpinAsync(IReadOnlyList<(string Name, string File)> owed, bool firstTry, CancellationToken cancellationToken)
    {
        var unpinned = new List<(string Name, string File)>();
        foreach (var (name, file) in owed)
        {
            if (_cache.SuppliersOf(name).Any(p => _probe.Probe(p) is not null))
            {
                Settle(name, file);
                continue;
            }

            try
            {
                if (await _pins.GetAsync(name, cancellationToken) is { } image && await _pins.UnpinAsync(image, cancellationToken))
                {
                    unpinned.Add((name, file));
                }

                Settle(name, file);
            }
            catch (BackendException ex)
            {
                _log.Write(
                    firstTry ? LogEventLevel.Warning : LogEventLevel.Debug,
                    "{File:l}: could not unpin {Image:l}, which it no longer supplies: {Reason:l}; will retry",
                    file,
                    name,
                    ex.Message);
            }
        }

        foreach (var group in unpinned.GroupBy(u => u.File, StringComparer.Ordinal))
        {
            _log.ForContext("Outcome", "unpinned").Information("{File:l}: unpinned {Images:l}, which it no longer supplies", group.Key, group.Select(u => u.Name).ToList());
        }
    }

    /// <summary>No longer owed, unless a later import made another file owe it meanwhile.</summary>
    private void Settle(string name, string file)
    {
        lock (_gate)
        {
            if (_owed.TryGetValue(name, out var owner) && owner == file)
            {
                _owed.Remove(name);
            }
        }
    }
}
