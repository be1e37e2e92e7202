using System.IO.Hashing;

namespace Imageimportd.Compression;

/// <summary>
/// xz's CRC-64: ECMA-182 reflected, all-ones start and final xor. System.IO.Hashing's default Crc64 is the
/// non-reflected ECMA-182 variant, so xz needs its own parameter set.
/// </summary>
internal static class XzCrc64
{
    public static readonly Crc64ParameterSet Parameters = Crc64ParameterSet.Create(0x42F0E1EBA9EA3693UL, ulong.MaxValue, ulong.MaxValue, reflectValues: true);
}
