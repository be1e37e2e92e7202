namespace Imageimportd.Archive;

/// <summary>One entry the sink took, in archive order: what <see cref="StoredBlobFeed"/> tells its readers.</summary>
public sealed record StoredBlobEvent(string Path, StoredBlob Blob);
