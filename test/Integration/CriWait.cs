using System.Diagnostics;
using Imageimportd.Containerd;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// CRI's image list follows containerd's image events, asynchronously: on containerd 2.x an image record written
/// a moment ago (such as the <c>repo@sha256:</c> name created last) can be missing from CRI's answer for a few
/// milliseconds after the import returned. Tests wait for what they expect, with a deadline that fails.
/// </summary>
internal static class CriWait
{
    /// <summary>CRI's image list once <paramref name="done"/> holds for it; the last list when the deadline passes.</summary>
    public static async Task<IReadOnlyList<CriImage>> ListUntilAsync(CriImages cri, Func<IReadOnlyList<CriImage>, bool> done, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var list = await cri.ListAsync(CancellationToken.None);
            if (done(list) || clock.Elapsed > deadline)
            {
                return list;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>CRI's status of <paramref name="reference"/> once <paramref name="done"/> holds for it; the last answer at the deadline.</summary>
    public static async Task<CriImage?> StatusUntilAsync(CriImages cri, string reference, Func<CriImage?, bool> done, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await cri.StatusAsync(reference, CancellationToken.None);
            if (done(status) || clock.Elapsed > deadline)
            {
                return status;
            }

            await Task.Delay(100);
        }
    }
}
