using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Imageimportd.Oci;

/// <summary>
/// A validated content digest such as <c>sha256:9f86…</c>. Only sha256 and sha512 are accepted,
/// with lowercase hex of the right length, so a digest that parsed is safe to use in paths and labels.
/// </summary>
public readonly struct Digest : IEquatable<Digest>, IComparable<Digest>
{
    private readonly string? _value;

    private Digest(string value) => _value = value;

    /// <summary>The full form, <c>algorithm:hex</c>.</summary>
    public string Value => _value ?? throw new InvalidOperationException("Digest is default (unset).");

    public bool IsEmpty => _value is null;

    public string Algorithm => Value[..Value.IndexOf(':', StringComparison.Ordinal)];

    public string Hex => Value[(Value.IndexOf(':', StringComparison.Ordinal) + 1)..];

    public static Digest Parse(string value) =>
        TryParse(value, out var digest) ? digest : throw new FormatException($"invalid digest \"{Truncate(value)}\"");

    public static bool TryParse([NotNullWhen(true)] string? value, out Digest digest)
    {
        digest = default;
        if (value is null)
        {
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var expectedHex = value.AsSpan(0, colon) switch
        {
            "sha256" => 64,
            "sha512" => 128,
            _ => -1,
        };
        var hex = value.AsSpan(colon + 1);
        if (hex.Length != expectedHex)
        {
            return false;
        }

        foreach (var c in hex)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        digest = new Digest(value);
        return true;
    }

    public static Digest Sha256FromHash(ReadOnlySpan<byte> hash) =>
        new("sha256:" + Convert.ToHexStringLower(hash));

    public static Digest FromBytes(ReadOnlySpan<byte> data) => Sha256FromHash(SHA256.HashData(data));

    /// <summary>The sha256 of <paramref name="text"/> encoded as UTF-8.</summary>
    public static Digest FromString(string text) => FromBytes(System.Text.Encoding.UTF8.GetBytes(text));

    public bool Equals(Digest other) => string.Equals(_value, other._value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Digest other && Equals(other);

    public override int GetHashCode() => _value is null ? 0 : StringComparer.Ordinal.GetHashCode(_value);

    public int CompareTo(Digest other) => string.CompareOrdinal(_value, other._value);

    public override string ToString() => _value ?? "";

    public static bool operator ==(Digest left, Digest right) => left.Equals(right);

    public static bool operator !=(Digest left, Digest right) => !left.Equals(right);

    public static bool operator <(Digest left, Digest right) => left.CompareTo(right) < 0;

    public static bool operator >(Digest left, Digest right) => left.CompareTo(right) > 0;

    public static bool operator <=(Digest left, Digest right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Digest left, Digest right) => left.CompareTo(right) >= 0;

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 80 ? s : s[..80] + "…";
}
