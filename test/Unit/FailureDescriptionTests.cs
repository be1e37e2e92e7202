using System.Text.RegularExpressions;
using Imageimportd.Errors;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// One classification feeds the metric/status class and the log line's words: they agree on every exception type
/// (EndOfStream and FormatException once did not: io_error and other beside "truncated" and "bad archive").
/// </summary>
[TestFixture]
public sealed class FailureDescriptionTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        yield return Case(new BackendException(FailureKind.Unavailable, "version: connection refused"), "containerd_unavailable", "containerd: version: connection refused");
        yield return Case(new BackendException(FailureKind.DeadlineExceeded, "apply layer: deadline"), "containerd_deadline", "containerd: apply layer: deadline");
        yield return Case(new BackendException(FailureKind.ResourceExhausted, "commit: no space left on device"), "containerd_resource_exhausted", "containerd: commit: no space left on device");
        yield return Case(new BackendException(FailureKind.NotFound, "get image: not found"), "containerd_error", "containerd: get image: not found");
        yield return Case(new BackendException(FailureKind.Aborted, "content was collected"), "containerd_error", "containerd: content was collected");
        yield return Case(new BackendException(FailureKind.Canceled, "apply layer: the call was cancelled"), "containerd_error", "containerd: the call was cancelled (shutting down, or its deadline passed)");
        yield return Case(new EndOfStreamException("IO_EOF_ReadBeyondEOF"), "bad_archive", "truncated: the file ends before the archive does");
        yield return Case(new InvalidDataException("not a tar archive"), "bad_archive", "bad archive: not a tar archive");
        yield return Case(new InvalidDataException("TarInvalidNumber"), "bad_archive", "bad archive: corrupt data");
        yield return Case(new FormatException("Format_InvalidString"), "bad_archive", "bad archive: malformed data");
        yield return Case(new FormatException("invalid digest \"sha256:zz\""), "bad_archive", "bad archive: invalid digest \"sha256:zz\"");
        yield return Case(new ArgumentException("Argument_InvalidOffLen"), "bad_archive", "bad archive: malformed data");
        yield return Case(new FileNotFoundException("FileNotFound_ResourceKey"), "file_vanished", "file vanished");
        yield return Case(new DirectoryNotFoundException("IO_PathNotFound_Path"), "file_vanished", "file vanished");
        yield return Case(new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path, /x"), "unreadable", "unreadable: permission denied");
        yield return Case(new PathTooLongException("IO_PathTooLong"), "io_error", "path too long for the kernel to open");
        yield return Case(new IOException("IO_SharingViolation_File"), "io_error", "I/O error: read failed");
        yield return Case(new IOException("short read on /images/app.tar"), "io_error", "I/O error: short read on /images/app.tar");
        yield return Case(new OutOfMemoryException("Arg_OutOfMemoryException"), "other", "out of memory");
        yield return Case(new InsufficientMemoryException("Arg_InsufficientMemory"), "other", "out of memory");
        yield return Case(new OperationCanceledException("OperationCanceled"), "other", "cancelled (shutting down, or a deadline passed)");
        yield return Case(new InvalidOperationException("InvalidOperation_EnumFailedVersion"), "other", "unexpected error (InvalidOperationException)");
        yield return Case(new NotSupportedException("xz filter 0x0a is not supported"), "other", "xz filter 0x0a is not supported");
    }

    private static TestCaseData Case(Exception error, string cls, string cause) =>
        new TestCaseData(error, cls, cause).SetArgDisplayNames(error.GetType().Name, cls);

    [TestCaseSource(nameof(Cases))]
    public void Of_Exception_ClassAndCauseAgree(Exception error, string cls, string cause)
    {
        var failure = FailureDescription.Of(error);

        Assert.That((failure.Class, failure.Cause), Is.EqualTo((cls, cause)));
        Assert.That(FailureDescription.Classes, Does.Contain(failure.Class));
    }

    [Test]
    public void Of_PullList_SaysPullListNotArchive()
    {
        Assert.That(FailureDescription.Of(new InvalidDataException("the file is UTF-16 text"), pullList: true).Cause, Is.EqualTo("bad pull list: the file is UTF-16 text"));
    }

    [Test]
    public void Of_OnlyUnavailable_SaysBackendUnreachable()
    {
        Assert.Multiple(() =>
        {
            foreach (var kind in Enum.GetValues<FailureKind>())
            {
                Assert.That(FailureDescription.Of(new BackendException(kind, "x")).BackendUnreachable, Is.EqualTo(kind == FailureKind.Unavailable), kind.ToString());
            }

            Assert.That(FailureDescription.Of(new IOException("connection refused")).BackendUnreachable, Is.False);
        });
    }

    [Test]
    public void Classes_Readme_ListsExactlyThem()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var row = readme.Split('\n').Single(l => l.Contains("imageimportd_files_failed_total{cause}", StringComparison.Ordinal));
        var listed = Regex.Matches(row.Split("failures by class:")[1], "`([a-z_]+)`").Select(m => m.Groups[1].Value);

        Assert.That(listed, Is.EquivalentTo(FailureDescription.Classes));
    }
}
