namespace Imageimportd.Content;

/// <summary>A content store: ingest, read and label. The gRPC adapter and the in-memory fake both implement it.</summary>
public interface IContentStore : IContentIngester, IContentProvider, IContentInfoStore;
