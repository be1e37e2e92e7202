using Imageimportd.Pull;
using NUnit.Framework;

namespace Imageimportd.Tests.Pull.Unit;

[TestFixture]
public sealed class PullListTests
{
    private const string File = "/etc/imageimportd/images/list.txt";

    [Test]
    public void Parse_CommentsAndBlankLines_Ignored()
    {
        var parse = PullList.Parse(File, "# images for the node\n\n   \n\t# indented comment\nnginx:1.25\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries, Is.EqualTo(new[] { new PullEntry("docker.io/library/nginx:1.25", 5, "nginx:1.25") }));
    }

    [Test]
    public void Parse_TrailingComment_Removed()
    {
        var parse = PullList.Parse(File, "  redis:7 # cache\nquay.io/prometheus/node-exporter:v1.8.0\t# metrics\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries.Select(e => e.Reference), Is.EqualTo(new[] { "docker.io/library/redis:7", "quay.io/prometheus/node-exporter:v1.8.0" }));
        Assert.That(parse.Entries[0].Line, Is.EqualTo("redis:7"));
    }

    [Test]
    public void Parse_HashGluedToReference_InvalidLine()
    {
        var parse = PullList.Parse(File, "nginx#1.25\n");

        Assert.That(parse.Entries, Is.Empty, "a '#' inside a word is not a comment: nginx:latest must not be pulled by accident");
        Assert.That(parse.Errors.Single().LineNumber, Is.EqualTo(1));
    }

    [Test]
    public void Parse_CrlfLineEnds_SameAsLf()
    {
        var crlf = PullList.Parse(File, "# c\r\nnginx:1.25\r\n\r\nbusybox # tools\r\nBad:Ref\r\n");
        var lf = PullList.Parse(File, "# c\nnginx:1.25\n\nbusybox # tools\nBad:Ref\n");

        Assert.That(crlf.Entries, Is.EqualTo(lf.Entries));
        Assert.That(crlf.Errors, Is.EqualTo(lf.Errors));
        Assert.That(crlf.Entries.Select(e => e.LineNumber), Is.EqualTo(new[] { 2, 4 }));
        Assert.That(crlf.Entries[1].Reference, Is.EqualTo("docker.io/library/busybox:latest"));
        Assert.That(crlf.Errors.Single().Line, Is.EqualTo("Bad:Ref"), "no CR left in what the log shows");
    }

    [Test]
    public void Parse_ByteOrderMark_Ignored()
    {
        var parse = PullList.Parse(File, "\uFEFFnginx:1.25\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries.Single().Reference, Is.EqualTo("docker.io/library/nginx:1.25"));
    }

    [Test]
    public void Parse_InvalidLines_ReportedWithLineNumbersAndOthersKept()
    {
        var text = "nginx:1.25\n# comment\nUPPER/case:1\n\nnginx:1.25 redis:7\nredis:7\nexample.com/app:bad tag!\nalpine@sha256:abc\n";

        var parse = PullList.Parse(File, text);

        Assert.That(parse.Entries.Select(e => (e.Reference, e.LineNumber)), Is.EqualTo(new[] { ("docker.io/library/nginx:1.25", 1), ("docker.io/library/redis:7", 6) }));
        Assert.That(parse.Errors.Select(e => e.LineNumber), Is.EqualTo(new[] { 3, 5, 7, 8 }));
        Assert.Multiple(() =>
        {
            Assert.That(parse.Errors.All(e => e.File == File), Is.True);
            Assert.That(parse.Errors[0].Line, Is.EqualTo("UPPER/case:1"));
            Assert.That(parse.Errors[0].Reason, Does.Contain("lowercase"));
            Assert.That(parse.Errors[1].Reason, Does.Contain("one image reference per line"));
            Assert.That(parse.Errors.All(e => e.Reason.Length > 0), Is.True);
        });
    }

    [Test]
    public void Parse_Duplicates_CollapsedAtFirstLine()
    {
        var parse = PullList.Parse(File, "redis:7\nnginx\ndocker.io/library/nginx:latest\nnginx:latest\nindex.docker.io/library/redis:7\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries.Select(e => (e.Reference, e.LineNumber)), Is.EqualTo(new[] { ("docker.io/library/redis:7", 1), ("docker.io/library/nginx:latest", 2) }));
    }

    [Test]
    public void Parse_References_Normalised()
    {
        const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var parse = PullList.Parse(File, $"nginx:1.25\nbitnami/redis\nlocalhost:5000/app:2\n127.0.0.1:5000/team/app:1\nalpine:3.19@{Digest}\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries.Select(e => e.Reference), Is.EqualTo(new[]
        {
            "docker.io/library/nginx:1.25",
            "docker.io/bitnami/redis:latest",
            "localhost:5000/app:2",
            "127.0.0.1:5000/team/app:1",
            $"docker.io/library/alpine@{Digest}",
        }));
    }

    [Test]
    public void Parse_EmptyText_NoEntriesNoErrors()
    {
        var parse = PullList.Parse(File, "");

        Assert.That(parse.Entries, Is.Empty);
        Assert.That(parse.Errors, Is.Empty);
    }

    [Test]
    public void Parse_LineLongerThanLimit_ErrorWithExcerpt()
    {
        var longLine = "docker.io/library/" + new string('a', PullList.MaxLineLength);
        var parse = PullList.Parse(File, $"nginx:1.25\n{longLine}\nredis:7\n");

        Assert.That(parse.Entries.Select(e => e.LineNumber), Is.EqualTo(new[] { 1, 3 }));
        var error = parse.Errors.Single();
        Assert.That(error.LineNumber, Is.EqualTo(2));
        Assert.That(error.Reason, Does.Contain("4096"));
        Assert.That(error.Line, Has.Length.LessThanOrEqualTo(PullList.MaxErrorLineLength + 1));
    }

    [Test]
    public void Parse_LineAtLimit_NotRefusedForLength()
    {
        var padded = "nginx:1.25" + new string(' ', PullList.MaxLineLength - "nginx:1.25".Length);

        var parse = PullList.Parse(File, padded + "\n");

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.Entries.Single().Reference, Is.EqualTo("docker.io/library/nginx:1.25"));
    }

    [Test]
    public void Parse_TextOverOneMebibyte_SingleFileErrorNoEntries()
    {
        var line = "nginx:1.25 # " + new string('x', 1000) + "\n";
        var text = string.Concat(Enumerable.Repeat(line, (PullList.MaxFileBytes / line.Length) + 1));

        var parse = PullList.Parse(File, text);

        Assert.That(parse.Entries, Is.Empty);
        Assert.That(parse.Errors.Single().LineNumber, Is.EqualTo(0));
        Assert.That(parse.Errors.Single().Reason, Does.Contain("larger than"));
    }

    [Test]
    public void Parse_MultiByteTextOverLimitInBytes_Refused()
    {
        // Fewer chars than the limit, more UTF-8 bytes: the bound is on the file's size, not its char count.
        var text = "# " + new string('é', (PullList.MaxFileBytes / 2) + 10) + "\n";

        var parse = PullList.Parse(File, text);

        Assert.That(text, Has.Length.LessThan(PullList.MaxFileBytes));
        Assert.That(parse.Errors.Single().LineNumber, Is.EqualTo(0));
    }

    [Test]
    public async Task ReadAsync_FileOverLimit_RefusedWithoutParsing()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pull-big-{Guid.NewGuid():N}.txt");
        try
        {
            await System.IO.File.WriteAllBytesAsync(path, new byte[PullList.MaxFileBytes + 1]).WaitAsync(TimeSpan.FromSeconds(10));

            var parse = await PullList.ReadAsync(path, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

            Assert.That(parse.Entries, Is.Empty);
            Assert.That(parse.Errors.Single(), Is.EqualTo(new PullListError(path, 0, "", $"file is larger than {PullList.MaxFileBytes} bytes; nothing in it was pulled")));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }

    [Test]
    public async Task ReadAsync_SmallFile_ParsedWithPathAsFileName()
    {
        var path = Path.Combine(Path.GetTempPath(), $"pull-small-{Guid.NewGuid():N}.txt");
        try
        {
            await System.IO.File.WriteAllTextAsync(path, "nginx:1.25\r\nNOPE\r\n").WaitAsync(TimeSpan.FromSeconds(10));

            var parse = await PullList.ReadAsync(path, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

            Assert.That(parse.Entries.Single().Reference, Is.EqualTo("docker.io/library/nginx:1.25"));
            Assert.That(parse.Errors.Single(), Has.Property(nameof(PullListError.File)).EqualTo(path).And.Property(nameof(PullListError.LineNumber)).EqualTo(2));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
