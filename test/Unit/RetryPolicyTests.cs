using Imageimportd.Errors;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The one transient-or-permanent decision that <c>watch</c>, <c>import-once</c> and pull lists share.</summary>
[TestFixture]
public sealed class RetryPolicyTests
{
    [TestCase(FailureKind.Unavailable, true)]
    [TestCase(FailureKind.DeadlineExceeded, true)]
    [TestCase(FailureKind.ResourceExhausted, true)]
    [TestCase(FailureKind.Aborted, true)]
    [TestCase(FailureKind.Unknown, false)]
    [TestCase(FailureKind.NotFound, false)]
    [TestCase(FailureKind.AlreadyExists, false)]
    [TestCase(FailureKind.InvalidArgument, false)]
    [TestCase(FailureKind.FailedPrecondition, false)]
    [TestCase(FailureKind.Canceled, false)]
    public void IsTransient_BackendFailure_ByKind(FailureKind kind, bool transient)
    {
        Assert.That(RetryPolicy.IsTransient(new BackendException(kind, "create image app:1: something")), Is.EqualTo(transient));
        Assert.That(RetryPolicy.IsTransient(kind), Is.EqualTo(transient));
    }

    [Test]
    public void IsTransient_EveryKind_HasAnExpectation()
    {
        // A new kind must be placed on one side on purpose: the cases above list every member.
        Assert.That(Enum.GetValues<FailureKind>(), Has.Length.EqualTo(10));
    }

    [Test]
    public void IsTransient_FileReplacedBeforeOpen_Transient()
    {
        Assert.That(RetryPolicy.IsTransient(new FileNotFoundException("gone", "/images/app.tar")), Is.True);
    }

    [Test]
    public void IsTransient_GcRaceWrappingNotFound_Transient()
    {
        // FileImporter's "collected by containerd's GC" wraps a NotFound; the wrapper's class decides.
        var collected = new BackendException(FailureKind.Aborted, "content was collected", new BackendException(FailureKind.NotFound, "content sha256:x: not found"));

        Assert.That(RetryPolicy.IsTransient(collected), Is.True);
    }

    [TestCase(typeof(InvalidDataException))]
    [TestCase(typeof(EndOfStreamException))]
    [TestCase(typeof(FormatException))]
    [TestCase(typeof(UnauthorizedAccessException))]
    [TestCase(typeof(DirectoryNotFoundException))]
    [TestCase(typeof(IOException))]
    [TestCase(typeof(OperationCanceledException))]
    [TestCase(typeof(InvalidOperationException))]
    public void IsTransient_NotABackendFailure_Permanent(Type type)
    {
        var error = (Exception)Activator.CreateInstance(type, "x")!;

        Assert.That(RetryPolicy.IsTransient(error), Is.False);
    }
}
