using Imageimportd.Import;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

public sealed class ImportProgressTests
{
    [Test]
    public void ToString_HalfRead_ShowsPercentSizesAndRate()
    {
        var progress = new ImportProgress("/images/big.tar.zst", 200L << 20);

        progress.Add(100 << 20);

        Assert.That(progress.ReadBytes, Is.EqualTo(100L << 20));
        Assert.That(progress.ToString(), Does.StartWith("big.tar.zst 50% (100/200 MiB, ").And.Contain("MiB/s"));
        Assert.That(progress.Eta, Is.Not.Null);
    }

    [Test]
    public void Eta_NothingToRead_IsNull()
    {
        var progress = new ImportProgress("/images/empty.tar", 0);

        Assert.That(progress.Eta, Is.Null);
        Assert.That(progress.ToString(), Does.Contain("0%"));
    }
}
