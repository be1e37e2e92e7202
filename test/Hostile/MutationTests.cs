using System.Diagnostics;
using Imageimportd.Containerd;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>
/// Randomised robustness with a fixed seed: valid archives from real tools, mutated (bit flips, truncation, reordered
/// and duplicated entries), imported into the real containerd. Every case must end in an import or a clean error
/// (bad data, or containerd refusing the content), in bounded time, leaving no lease.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MutationTests
{
    private const int Seed = 20261127;
    private const int Cases = 240;

    [Test]
    public async Task Import_MutatedArchives_EndInImportOrCleanError()
    {
        using var dir = new TempDirectory("mutate-");
        var sources = new[]
        {
            (await ToolArchives.DockerArchiveAsync(dir.Combine("d"), ["docker.io/library/mutant:1"], CancellationToken.None).Bounded()).Path,
            (await ToolArchives.OciLayoutTarAsync(dir.Combine("o"), ["docker.io/library/mutant-oci:1"], CancellationToken.None).Bounded()).Path,
        };
        var parsed = sources.Select(ArchiveSurgery.Read).ToArray();
        var bytes = sources.Select(File.ReadAllBytes).ToArray();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("mutate");
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = ns });
        var importer = new FileImporter(new ContainerdBackend(client), new ImportOptions());
        var rng = new Random(Seed);
        var unclean = new List<string>();
        var outcomes = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();

        for (var i = 0; i < Cases; i++)
        {
            var source = rng.Next(sources.Length);
            var path = dir.Combine($"case-{i}.tar");
            var kind = (i % 4) switch { 0 => "flip", 1 => "truncate", 2 => "reorder", _ => "duplicate" };
            switch (kind)
            {
                case "flip":
                    var flipped = (byte[])bytes[source].Clone();
                    for (var f = rng.Next(1, 17); f > 0; f--)
                    {
                        flipped[rng.Next(flipped.Length)] ^= (byte)(1 << rng.Next(8));
                    }

                    await File.WriteAllBytesAsync(path, flipped);
                    break;
                case "truncate":
                    await File.WriteAllBytesAsync(path, bytes[source][..rng.Next(bytes[source].Length)]);
                    break;
                case "reorder":
                    ArchiveSurgery.Write(path, parsed[source].OrderBy(_ => rng.Next()).ToList());
                    break;
                default:
                    var list = parsed[source].ToList();
                    for (var d = rng.Next(1, 4); d > 0; d--)
                    {
                        list.Insert(rng.Next(list.Count + 1), list[rng.Next(list.Count)]);
                    }

                    ArchiveSurgery.Write(path, list);
                    break;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            string outcome;
            try
            {
                await importer.ImportAsync(path, timeout.Token);
                outcome = "imported";
            }
            catch (InvalidDataException)
            {
                outcome = "bad data";
            }
            catch (BackendException ex) when (!RetryPolicy.IsTransient(ex))
            {
                outcome = "refused by containerd";
            }
            catch (Exception ex)
            {
                outcome = "unclean";
                unclean.Add($"case {i} ({kind}): {ex.GetType().Name}: {ex.Message}");
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            File.Delete(path);
        }

        TestContext.Out.WriteLine($"{Cases} cases in {clock.Elapsed.TotalSeconds:0.0}s: " + string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}")));
        Assert.That(unclean, Is.Empty);
        Assert.That(outcomes.GetValueOrDefault("imported"), Is.GreaterThan(0), "no mutation was survivable: the generator is broken");
        Assert.That(outcomes.GetValueOrDefault("bad data"), Is.GreaterThan(0));
        Assert.That((await containerd.CtrFor(ns).LeasesAsync().Bounded()).Where(l => l.Id.StartsWith("imageimportd-", StringComparison.Ordinal)), Is.Empty);
        GC.Collect();
        Assert.That(GC.GetTotalMemory(forceFullCollection: true), Is.LessThan(256L << 20), "memory grew with the number of cases");
    }
}
