using Imageimportd.Errors;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The one transient-or-permanent decision that <c>watch</c>, <c>import-once</c> and pull lists share.</summary>
[TestFixture]
public sealed class RetryPolicyTests
{
    private static readonly Dictionary<FailureKind, bool> Transient = new()
    {
        [FailureKind.Unavailable] = true,
        [FailureKind.DeadlineExceeded] = true,
        [FailureKind.ResourceExhausted] = true,
        [FailureKind.Aborted] = true,
        [FailureKind.Unknown] = false,
        [FailureKind.NotFound] = false,
        [FailureKind.AlreadyExists] = false,
        [FailureKind.InvalidArgument] = false,
        [FailureKind.FailedPrecondition] = false,
        [FailureKind.Canceled] = false,
    };

    [Test]
    public void IsTransient_EveryBackendKind_AsExpected()
    {
        // A new kind must be placed on one side on purpose.
        Assert.That(Transient.Keys, Is.EquivalentTo(Enum.GetValues<FailureKind>()), "a kind without an expectation");
        Assert.Multiple(() =>
        {
            foreach (var (kind, transient) in Transient)
            {
                Assert.That(RetryPolicy.IsTransient(new BackendException(kind, "create image app:1: something")), Is.EqualTo(transient), kind.ToString());
                Assert.That(RetryPolicy.IsTransient(kind), Is.EqualTo(transient), kind.ToString());
            }
        });
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
