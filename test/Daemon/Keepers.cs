using Imageimportd.Cache;
using Imageimportd.Daemon;
using Imageimportd.Images;
using Imageimportd.Queue;
using Serilog;

namespace Imageimportd.Tests.Daemon;

/// <summary>The pin keeper wired as WatchDaemonFactory wires it: one <see cref="ImageRecords"/> over the store, shared with its <see cref="PendingUnpins"/>.</summary>
internal static class Keepers
{
    public static ImagePinKeeper For(ImportCache cache, CacheSaver saver, IImageStore store, ILogger log, bool pin = true, IFileProbe? probe = null)
    {
        var records = new ImageRecords(store);
        return new ImagePinKeeper(cache, saver, records, pin, new PendingUnpins(cache, records, probe ?? StatFileProbe.Instance, log), log);
    }
}
