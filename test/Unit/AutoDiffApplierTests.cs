using System.Collections.Concurrent;
using Imageimportd.Oci;
using Imageimportd.Tests.Harness;
using Imageimportd.Unpack;
using Imageimportd.Unpack.Direct;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// <see cref="AutoDiffApplier"/> (as root): direct for a snapshot whose directories are visible here, the Diff service
/// otherwise, decided per mount set, and each decision reported once (not once per layer or per import).
/// </summary>
[TestFixture]
public sealed class AutoDiffApplierTests
{
    private static readonly Descriptor Layer = new(MediaTypes.OciLayer, Digest.FromString("layer"), 5);

    private TempDirectory _dir = null!;
    private Recording _diff = null!;
    private Recording _direct = null!;
    private List<string> _reports = null!;
    private ConcurrentDictionary<string, bool> _reported = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("auto-");
        _diff = new Recording();
        _direct = new Recording();
        _reports = [];
        _reported = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Apply_VisibleOverlayUpperdirs_DirectAndReportedOnceForManyLayersAndImports()
    {
        for (var i = 0; i < 3; i++)
        {
            // A new applier per import, as FileImporter makes them; the report is still once per process.
            var auto = NewApplier();
            await auto.ApplyAsync(Layer, Overlay(i, lowers: i + 1), CancellationToken.None);
            await auto.ApplyAsync(Layer, Overlay(i + 10, lowers: 1), CancellationToken.None);
        }

        Assert.That(_direct.Count, Is.EqualTo(6));
        Assert.That(_diff.Count, Is.Zero);
        Assert.That(_reports, Has.Count.EqualTo(1));
        Assert.That(_reports[0], Does.StartWith("unpack via direct apply: running as root").And.Not.Contain(_dir.Path));
    }

    [Test]
    public async Task Apply_SnapshotDirectoryNotVisible_DiffServiceAndSaysWhyOnce()
    {
        var auto = NewApplier();
        var missing = new Mount("bind", _dir.Combine("not-here", "1", "fs"), "", ["rbind", "rw"]);

        await auto.ApplyAsync(Layer, [missing], CancellationToken.None);
        await auto.ApplyAsync(Layer, [missing with { Source = _dir.Combine("not-here", "2", "fs") }], CancellationToken.None);

        Assert.That(_diff.Count, Is.EqualTo(2));
        Assert.That(_direct.Count, Is.Zero);
        Assert.That(_reports, Is.EqualTo(new[] { "unpack via containerd's Diff service: the snapshot's bind mount directories are not visible from this process (containerd's root is not mounted here, or containerd runs elsewhere)" }));
    }

    [TestCase("erofs", TestName = "Apply_MountTypeDirectApplyCannotWrite_DiffService")]
    [TestCase("two", TestName = "Apply_SeveralMounts_DiffService")]
    [TestCase("overlay-no-upper", TestName = "Apply_ReadOnlyOverlayWithoutUpperdir_DiffService")]
    public async Task Apply_MountsNeedingARealMount_DiffService(string kind)
    {
        var dir = _dir.Combine("x");
        Directory.CreateDirectory(dir);
        IReadOnlyList<Mount> mounts = kind switch
        {
            "erofs" => [new Mount("erofs", dir, "", ["ro"])],
            "two" => [new Mount("bind", dir, "", ["rbind"]), new Mount("bind", dir, "", ["rbind"])],
            _ => [new Mount("overlay", "overlay", "", ["lowerdir=" + dir])],
        };

        await NewApplier().ApplyAsync(Layer, mounts, CancellationToken.None);

        Assert.That(_diff.Count, Is.EqualTo(1));
        Assert.That(_direct.Count, Is.Zero);
        Assert.That(_reports.Single(), Does.StartWith("unpack via containerd's Diff service:").And.EndWith("needs a real mount"));
    }

    [Test]
    public async Task Apply_DecisionChangesBetweenMountSets_EachReportedOnce()
    {
        var auto = NewApplier();
        var gone = new Mount("bind", _dir.Combine("gone"), "", ["rbind"]);

        await auto.ApplyAsync(Layer, Overlay(1, lowers: 1), CancellationToken.None);
        await auto.ApplyAsync(Layer, [gone], CancellationToken.None);
        await auto.ApplyAsync(Layer, Overlay(2, lowers: 2), CancellationToken.None);
        await auto.ApplyAsync(Layer, [gone], CancellationToken.None);

        Assert.That(_direct.Count, Is.EqualTo(2));
        Assert.That(_diff.Count, Is.EqualTo(2));
        Assert.That(_reports, Has.Count.EqualTo(2));
    }

    private AutoDiffApplier NewApplier() => new(_diff, _direct, _reports.Add, _reported);

    /// <summary>An overlay mount of snapshot <paramref name="id"/> with <paramref name="lowers"/> lower dirs, all made.</summary>
    private IReadOnlyList<Mount> Overlay(int id, int lowers)
    {
        var upper = _dir.Combine("snapshots", id.ToString(System.Globalization.CultureInfo.InvariantCulture), "fs");
        Directory.CreateDirectory(upper);
        var lowerDirs = Enumerable.Range(100, lowers).Select(l => _dir.Combine("snapshots", l.ToString(System.Globalization.CultureInfo.InvariantCulture), "fs")).ToList();
        lowerDirs.ForEach(l => Directory.CreateDirectory(l));
        if (lowers == 0)
        {
            return [new Mount("bind", upper, "", ["rw", "rbind"])];
        }

        return [new Mount("overlay", "overlay", "", ["index=off", "workdir=" + _dir.Combine("work"), "upperdir=" + upper, "lowerdir=" + string.Join(':', lowerDirs)])];
    }

    private sealed class Recording : IDiffApplier
    {
        public int Count { get; private set; }

        public ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken)
        {
            Count++;
            return ValueTask.FromResult(layer);
        }
    }
}
