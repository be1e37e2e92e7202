namespace Imageimportd.Unpack;

/// <summary>A mount as a snapshotter describes it; the differ applies a layer onto these.</summary>
public sealed record Mount(string Type, string Source, string Target, IReadOnlyList<string> Options);
