using Imageimportd.Leases;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class StaleLeasesTests
{
    private const string Boot = "6a1f0b5e-0d4c-4a6e-9d3e-2f7f5c1b9a10";
    private const string Ns = "pid:[4026531836]";

    [Test]
    public async Task RemoveAsync_MakerAlive_KeepsLease()
    {
        var (leases, processes) = await ArrangeAsync(new LeaseOwner(Boot, Ns, 42, 1000));
        processes.Running[42] = 1000;

        var removed = await StaleLeases.RemoveAsync(leases, processes, CancellationToken.None);

        Assert.That(removed, Is.Empty);
    }

    [Test]
    public async Task RemoveAsync_MakerGone_RemovesLease()
    {
        var (leases, processes) = await ArrangeAsync(new LeaseOwner(Boot, Ns, 42, 1000));

        var removed = await StaleLeases.RemoveAsync(leases, processes, CancellationToken.None);

        Assert.That(removed, Is.EqualTo(new[] { "lease" }));
        Assert.That(leases.Active, Is.EqualTo(new[] { "not-ours" }));
    }

    [Test]
    public async Task RemoveAsync_PidReusedByAnotherProcess_RemovesLease()
    {
        var (leases, processes) = await ArrangeAsync(new LeaseOwner(Boot, Ns, 42, 1000));
        processes.Running[42] = 5000;

        var removed = await StaleLeases.RemoveAsync(leases, processes, CancellationToken.None);

        Assert.That(removed, Is.EqualTo(new[] { "lease" }));
    }

    [Test]
    public async Task RemoveAsync_MadeInAnotherBoot_RemovesLease()
    {
        var (leases, processes) = await ArrangeAsync(new LeaseOwner("another-boot", Ns, 42, 1000));
        processes.Running[42] = 1000;

        var removed = await StaleLeases.RemoveAsync(leases, processes, CancellationToken.None);

        Assert.That(removed, Is.EqualTo(new[] { "lease" }));
    }

    [Test]
    public async Task RemoveAsync_MadeInAnotherPidNamespace_KeepsLease()
    {
        // A containerized imageimportd's PIDs are not ours to look up: its lease is left to its expiry.
        var (leases, processes) = await ArrangeAsync(new LeaseOwner(Boot, "pid:[4026532999]", 42, 1000));

        var removed = await StaleLeases.RemoveAsync(leases, processes, CancellationToken.None);

        Assert.That(removed, Is.Empty);
    }

    [TestCase("")]
    [TestCase("a/b/c")]
    [TestCase("a/b/-1/5")]
    [TestCase("a/b/1/x")]
    [TestCase("/b/1/5")]
    public void Parse_Malformed_IsNull(string text) => Assert.That(LeaseOwner.Parse(text), Is.Null);

    [Test]
    public void Parse_RoundTrips()
    {
        var owner = new LeaseOwner(Boot, Ns, 42, 1000);

        Assert.That(LeaseOwner.Parse(owner.ToString()), Is.EqualTo(owner));
    }

    [Test]
    public void Current_ThisProcess_IsAliveByProc()
    {
        var owner = LeaseOwner.Current(ProcProcessTable.Instance);

        Assert.That(owner, Is.Not.Null);
        Assert.That(owner!.IsGone(ProcProcessTable.Instance), Is.False);
    }

    [TestCase("1234 (imageimportd) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 987654 0 0", 987654UL)]
    [TestCase("77 (a) b) (c) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0", 42UL)]
    public void ParseStartTime_FieldTwentyTwo_EvenWithParenthesesInTheName(string stat, ulong expected) =>
        Assert.That(ProcProcessTable.ParseStartTime(stat), Is.EqualTo(expected));

    private static async Task<(InMemoryLeaseManager Leases, FakeProcessTable Processes)> ArrangeAsync(LeaseOwner owner)
    {
        var leases = new InMemoryLeaseManager();
        await leases.CreateAsync("lease", new Dictionary<string, string> { [LeaseOwner.Label] = owner.ToString() }, CancellationToken.None);
        await leases.CreateAsync("not-ours", new Dictionary<string, string>(), CancellationToken.None);
        return (leases, new FakeProcessTable { BootId = Boot, PidNamespace = Ns });
    }

    private sealed class FakeProcessTable : IProcessTable
    {
        public required string BootId { get; init; }

        public required string PidNamespace { get; init; }

        public Dictionary<int, ulong> Running { get; } = [];

        public ulong? StartTimeOf(int pid) => Running.TryGetValue(pid, out var start) ? start : null;
    }
}
