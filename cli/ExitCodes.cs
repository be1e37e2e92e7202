namespace Imageimportd.Cli;

/// <summary>The exit status contract scripts and the systemd unit rely on.</summary>
internal static class ExitCodes
{
    /// <summary>Every file imported or unchanged.</summary>
    public const int Ok = 0;

    /// <summary>At least one file failed; the others were still imported.</summary>
    public const int SomeFailed = 1;

    public const int Usage = 2;

    /// <summary><c>status</c>: no daemon is watching the directory.</summary>
    public const int NoDaemon = 3;
}
