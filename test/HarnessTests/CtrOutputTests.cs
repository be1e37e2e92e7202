using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.HarnessTests;

/// <summary>Parsers against verbatim ctr 1.6.20 output, including the awkward columns.</summary>
[TestFixture]
public sealed class CtrOutputTests
{
    [Test]
    public void ParseImages_SizeWithSpaceAndLabels_SplitsColumns()
    {
        const string Output = """
            REF                          TYPE                                       DIGEST                                                                  SIZE      PLATFORMS               LABELS
            127.0.0.1:39349/team/app:1.0 application/vnd.oci.image.manifest.v1+json sha256:896b92e026e214dd96d24ab452cffb1f1d167cbd97260c37c771d62b7bd7771a 323.1 KiB linux/amd64,linux/arm64 io.cri-containerd.image=managed
            docker.io/library/alpha:1.0  application/vnd.oci.image.index.v1+json    sha256:a5c252718c51503e89b873f0037eec00a740cb9c5ade73056f04c321f7b1f635 0.0 B     -                       -

            """;

        var images = CtrOutput.ParseImages(Output);

        Assert.Multiple(() =>
        {
            Assert.That(images, Has.Count.EqualTo(2));
            Assert.That(images[0].Name, Is.EqualTo("127.0.0.1:39349/team/app:1.0"));
            Assert.That(images[0].Digest, Is.EqualTo("sha256:896b92e026e214dd96d24ab452cffb1f1d167cbd97260c37c771d62b7bd7771a"));
            Assert.That(images[0].MediaType, Is.EqualTo("application/vnd.oci.image.manifest.v1+json"));
            Assert.That(images[0].Platforms, Is.EqualTo(new[] { "linux/amd64", "linux/arm64" }));
            Assert.That(images[0].Labels["io.cri-containerd.image"], Is.EqualTo("managed"));
            Assert.That(images[1].Platforms, Is.Empty);
            Assert.That(images[1].Labels, Is.Empty);
        });
    }

    [Test]
    public void ParseContent_TabPaddedAgeWithSpaces_KeepsLabels()
    {
        const string Output =
            "DIGEST\t\t\t\t\t\t\t\t\tSIZE\tAGE\t\tLABELS\n" +
            "sha256:0bad67dd87cac3db46711da67060163ce5ca4f3f2f13eaa69cfab8f0cb5c703a\t515B\t7 seconds\tcontainerd.io/uncompressed=sha256:0bad\n" +
            "sha256:5998613c380a8d78a57fbcc6296a6a376f478b714d75638cfd6beaefd5c89dba\t548B\t2 minutes\t-\n";

        var content = CtrOutput.ParseContent(Output);

        Assert.Multiple(() =>
        {
            Assert.That(content, Has.Count.EqualTo(2));
            Assert.That(content[0].Labels["containerd.io/uncompressed"], Is.EqualTo("sha256:0bad"));
            Assert.That(content[1].Labels, Is.Empty);
        });
    }

    [Test]
    public void ParseSnapshots_EmptyParent_ParentIsNull()
    {
        const string Output = """
            KEY                                                                     PARENT                                                                  KIND
            sha256:0bad67dd87cac3db46711da67060163ce5ca4f3f2f13eaa69cfab8f0cb5c703a                                                                         Committed
            sha256:7d4b8713e8301717aeb011d65f041f5dc3e0d1005ff3b89467882e26003da38d sha256:0bad67dd87cac3db46711da67060163ce5ca4f3f2f13eaa69cfab8f0cb5c703a Committed
            """;

        var snapshots = CtrOutput.ParseSnapshots(Output);

        Assert.Multiple(() =>
        {
            Assert.That(snapshots[0].Parent, Is.Null);
            Assert.That(snapshots[1].Parent, Is.EqualTo(snapshots[0].Key));
            Assert.That(snapshots.Select(s => s.Kind), Has.All.EqualTo("Committed"));
        });
    }

    [Test]
    public void ParseLeases_Row_ParsesTimeAndLabels()
    {
        const string Output = """
            ID             CREATED AT           LABELS
            158100682-QNxc 2026-11-27T20:27:18Z containerd.io/gc.expire=2026-11-28T20:27:18Z
            """;

        var lease = CtrOutput.ParseLeases(Output).Single();

        Assert.Multiple(() =>
        {
            Assert.That(lease.Id, Is.EqualTo("158100682-QNxc"));
            Assert.That(lease.CreatedAt, Is.EqualTo(new DateTimeOffset(2026, 11, 27, 20, 27, 18, TimeSpan.Zero)));
            Assert.That(lease.Labels["containerd.io/gc.expire"], Is.EqualTo("2026-11-28T20:27:18Z"));
        });
    }

    [Test]
    public void ParseImageCheck_CompleteAndIncomplete_ReadsStatusAndUnpacked()
    {
        const string Output = """
            REF                         TYPE                                                 DIGEST                                                                  STATUS           SIZE                UNPACKED
            docker.io/library/alpha:1.0 application/vnd.docker.distribution.manifest.v2+json sha256:a5c252718c51503e89b873f0037eec00a740cb9c5ade73056f04c321f7b1f635 complete (3/3)   332.7 KiB/332.7 KiB true
            docker.io/library/beta:1.0  application/vnd.docker.distribution.manifest.v2+json sha256:a5c252718c51503e89b873f0037eec00a740cb9c5ade73056f04c321f7b1f635 incomplete (2/3) 1.0 KiB/332.7 KiB   false
            """;

        var rows = CtrOutput.ParseImageCheck(Output);

        Assert.Multiple(() =>
        {
            Assert.That(rows[0].Complete && rows[0].Unpacked, Is.True);
            Assert.That(rows[1].Status, Is.EqualTo("incomplete"));
            Assert.That(rows[1].Complete || rows[1].Unpacked, Is.False);
        });
    }
}
