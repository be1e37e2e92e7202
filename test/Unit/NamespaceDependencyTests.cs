using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// The core's namespaces (one per folder) depend on each other without cycles, so the folder tree reads as layers:
/// adapters (Containerd) implement the stages' interfaces, the stages never reach back into them.
/// </summary>
[TestFixture]
public sealed class NamespaceDependencyTests
{
    private static NamespaceGraph ReadCore()
    {
        var core = Path.Combine(RepoPaths.Root, "core");
        var files = Directory.EnumerateFiles(core, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .Select(p => (Path.GetRelativePath(core, p), File.ReadAllText(p)));
        return NamespaceGraph.Read(files);
    }

    [Test]
    public void Core_NamespaceDependencies_NoCycle()
    {
        var graph = ReadCore();

        Assert.That(graph.Cycles(), Is.Empty);
    }

    [Test]
    public void Core_Graph_SeesKnownDependencies()
    {
        // Guards the reader: a graph that found nothing would have no cycle either.
        var graph = ReadCore();

        Assert.Multiple(() =>
        {
            Assert.That(graph.Namespaces, Does.Contain("Import").And.Contain("Unpack.Direct").And.Contain("Errors"));
            Assert.That(graph.DependenciesOf("Import").Keys, Does.Contain("Archive").And.Contain("Errors").And.Contain("Scan"));
            Assert.That(graph.DependenciesOf("Containerd").Keys, Does.Contain("Unpack").And.Contain("Errors"));
            Assert.That(graph.DependenciesOf("Unpack.Direct").Keys, Does.Contain("Unpack"));
        });
    }

    [Test]
    public void Cycles_TwoNamespacesUsingEachOther_NamedWithFiles()
    {
        var graph = NamespaceGraph.Read(
        [
            ("A/One.cs", "using Imageimportd.B;\n\nnamespace Imageimportd.A;\n\npublic sealed class One { Two? _two; }\n"),
            ("B/Two.cs", "namespace Imageimportd.B;\n\n// A.One in a comment is no dependency.\npublic sealed class Two { A.One? _one; string _s = \"C.Three\"; }\n"),
            ("C/Three.cs", "namespace Imageimportd.C;\n\npublic sealed class Three { Imageimportd.A.One? _one; }\n"),
        ]);

        Assert.That(graph.Cycles(), Is.EqualTo(new[] { "cycle among A, B: A -> B (A/One.cs); B -> A (B/Two.cs)" }));
        Assert.That(graph.DependenciesOf("C").Keys, Is.EqualTo(new[] { "A" }));
    }

    [Test]
    public void Cycles_NestedNamespaceUsingEnclosingBareName_Counted()
    {
        var graph = NamespaceGraph.Read(
        [
            ("U/IApplier.cs", "using Imageimportd.U.Direct;\n\nnamespace Imageimportd.U;\n\npublic interface IApplier { LayerApplier? Make(); }\n"),
            ("U/Direct/LayerApplier.cs", "namespace Imageimportd.U.Direct;\n\npublic sealed class LayerApplier : IApplier { }\n"),
        ]);

        Assert.That(graph.Cycles().Single(), Does.StartWith("cycle among U, U.Direct:"));
    }
}
