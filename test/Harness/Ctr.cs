namespace Imageimportd.Tests.Harness;

/// <summary>
/// Runs <c>ctr --address SOCK -n NAMESPACE ...</c> against one containerd and parses what tests check.
/// Every call has a timeout (<see cref="Timeout"/>) on top of the caller's token.
/// </summary>
public sealed class Ctr
{
    public Ctr(string address, string containerdNamespace)
    {
        Address = address;
        Namespace = containerdNamespace;
    }

    public string Address { get; }

    public string Namespace { get; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Same containerd, another namespace.</summary>
    public Ctr WithNamespace(string containerdNamespace) => new(Address, containerdNamespace) { Timeout = Timeout };

    /// <summary>Runs ctr with the given arguments after the global ones; returns stdout, throws with stderr on failure.</summary>
    public Task<string> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken = default) =>
        Tools.RunAsync(CtrPath, GlobalArgs().Concat(args), Timeout, cancellationToken);

    public Task<ToolResult> RunUncheckedAsync(IEnumerable<string> args, CancellationToken cancellationToken = default) =>
        Tools.RunUncheckedAsync(CtrPath, GlobalArgs().Concat(args), Timeout, cancellationToken);

    /// <summary>Server version, e.g. "1.6.20~ds1", "2.1.9+unknown".</summary>
    public async Task<string> ServerVersionAsync(CancellationToken cancellationToken = default)
    {
        var output = await RunAsync(["version"], cancellationToken);
        var server = output[output.IndexOf("Server:", StringComparison.Ordinal)..];
        var line = server.Split('\n').First(l => l.TrimStart().StartsWith("Version:", StringComparison.Ordinal));
        return line.Split(':', 2)[1].Trim();
    }

    /// <summary><c>ctr images import [extraArgs] FILE</c>, e.g. extraArgs = --all-platforms, --base-name x, --digests, --no-unpack.</summary>
    /// <remarks>
    /// Always containerd's client-side importer, the one imageimportd matches: ctr 2.x imports through the
    /// transfer service unless given <c>--local</c>, and there <c>--base-name</c> keeps only the names under
    /// that base (a docker archive's RepoTags are all dropped). <c>--local</c> exists from ctr 1.7.
    /// </remarks>
    public Task<string> ImportAsync(string file, IEnumerable<string> extraArgs, CancellationToken cancellationToken) =>
        RunAsync(["images", "import", .. LocalImport, .. extraArgs, file], cancellationToken);

    /// <inheritdoc cref="ImportAsync(string, IEnumerable{string}, CancellationToken)"/>
    public Task<string> ImportAsync(string file, params string[] extraArgs) =>
        ImportAsync(file, extraArgs, CancellationToken.None);

    public async Task<IReadOnlyList<ImageRecord>> ListImagesAsync(CancellationToken cancellationToken = default) =>
        CtrOutput.ParseImages(await RunAsync(["images", "ls"], cancellationToken));

    /// <summary>
    /// <c>ctr images check</c> (content completeness and unpack state for the host platform).
    /// Does not throw when ctr reports a broken image; that shows up as Status "error".
    /// </summary>
    public async Task<IReadOnlyList<ImageCheckRecord>> CheckImagesAsync(string snapshotter = "overlayfs", CancellationToken cancellationToken = default)
    {
        var result = await RunUncheckedAsync(["images", "check", "--snapshotter", snapshotter], cancellationToken);
        var rows = CtrOutput.ParseImageCheck(result.StdoutText);
        return result.Succeeded || rows.Count > 0 ? rows : throw new ToolFailedException(result);
    }

    public Task<string> RemoveImagesAsync(IEnumerable<string> names, CancellationToken cancellationToken = default) =>
        RunAsync(["images", "rm", .. names], cancellationToken);

    public async Task<IReadOnlyList<ContentRecord>> ListContentAsync(CancellationToken cancellationToken = default) =>
        CtrOutput.ParseContent(await RunAsync(["content", "ls"], cancellationToken));

    /// <summary>Labels of one blob. <c>ctr content label DIGEST</c> with no labels only reads them.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ContentLabelsAsync(string digest, CancellationToken cancellationToken = default) =>
        CtrOutput.ParseLabels(await RunAsync(["content", "label", digest], cancellationToken));

    /// <summary>The blob's bytes (<c>ctr content get</c>).</summary>
    public Task<byte[]> ReadBlobAsync(string digest, CancellationToken cancellationToken = default) =>
        Tools.RunBytesAsync(CtrPath, GlobalArgs().Concat(["content", "get", digest]), Timeout, cancellationToken);

    public async Task<IReadOnlyList<SnapshotRecord>> SnapshotsAsync(string snapshotter = "overlayfs", CancellationToken cancellationToken = default) =>
        CtrOutput.ParseSnapshots(await RunAsync(["snapshots", "--snapshotter", snapshotter, "ls"], cancellationToken));

    public async Task<IReadOnlyDictionary<string, string>> SnapshotLabelsAsync(string key, string snapshotter = "overlayfs", CancellationToken cancellationToken = default) =>
        CtrOutput.ParseSnapshotLabels(await RunAsync(["snapshots", "--snapshotter", snapshotter, "info", key], cancellationToken));

    public async Task<IReadOnlyList<LeaseRecord>> LeasesAsync(CancellationToken cancellationToken = default) =>
        CtrOutput.ParseLeases(await RunAsync(["leases", "ls"], cancellationToken));

    /// <summary>
    /// Waits (60 s, then fails the test) until an import holds an imageimportd lease, then lets some bytes flow so a
    /// kill or signal sent next lands mid-write.
    /// </summary>
    public async Task WaitForImportLeaseAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if ((await LeasesAsync()).Any(l => l.Id.StartsWith("imageimportd-", StringComparison.Ordinal)))
            {
                await Task.Delay(300);
                return;
            }

            await Task.Delay(50);
        }

        NUnit.Framework.Assert.Fail("the import never took a lease");
    }

    private static string[] LocalImport => ContainerdBinaries.Version >= new Version(1, 7) ? ["--local"] : [];

    // The ctr of the containerd version under test (ContainerdBinaries).
    private static string CtrPath => ContainerdBinaries.Ctr;

    private string[] GlobalArgs() => ["--address", Address, "-n", Namespace];
}
