using System.IO.Compression;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Unpack;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// Applies a layer the way the tests need: it reads the layer blob from the <see cref="InMemoryContentStore"/> (NotFound
/// when it is not there), decompresses gzip, and returns the sha256 of the uncompressed bytes as the diff, as containerd's
/// differ does. Nothing is extracted; every application is recorded.
/// </summary>
public sealed class FakeDiffApplier(InMemoryContentStore content) : IDiffApplier
{
    private readonly Lock _gate = new();
    private readonly List<(Descriptor Layer, IReadOnlyList<Mount> Mounts)> _applied = [];

    /// <summary>When it returns an exception for a layer, applying that layer fails with it.</summary>
    public Func<Descriptor, Exception?>? Fault { get; set; }

    /// <summary>Every successful application, in order.</summary>
    public IReadOnlyList<(Descriptor Layer, IReadOnlyList<Mount> Mounts)> Applied
    {
        get
        {
            lock (_gate)
            {
                return [.. _applied];
            }
        }
    }

    public async ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (mounts.Count == 0)
        {
            throw new BackendException(FailureKind.InvalidArgument, $"apply {layer.Digest}: no mounts");
        }

        if (Fault?.Invoke(layer) is { } fault)
        {
            throw fault;
        }

        var blob = content.Get(layer.Digest);
        var uncompressed = await DecompressAsync(blob, cancellationToken);
        lock (_gate)
        {
            _applied.Add((layer, mounts));
        }

        return new Descriptor(MediaTypes.OciLayer, Digest.FromBytes(uncompressed), uncompressed.Length);
    }

    private static async Task<byte[]> DecompressAsync(byte[] blob, CancellationToken cancellationToken)
    {
        if (blob.Length < 2 || blob[0] != 0x1f || blob[1] != 0x8b)
        {
            return blob;
        }

        await using var gzip = new GZipStream(new MemoryStream(blob), CompressionMode.Decompress);
        using var output = new MemoryStream();
        await gzip.CopyToAsync(output, cancellationToken);
        return output.ToArray();
    }
}
