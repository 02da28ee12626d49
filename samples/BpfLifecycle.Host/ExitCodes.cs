// Process exit codes of bpflc. Scripts rely on them: keep the numbers stable and documented (docs/operations.md).
namespace BpfLifecycle.Host;

internal static class ExitCodes
{
    /// <summary>The command did what was asked (a rollout was promoted).</summary>
    public const int Success = 0;

    /// <summary>An unexpected error (kernel, I/O); the message says which.</summary>
    public const int Error = 1;

    /// <summary>The command line was invalid.</summary>
    public const int Usage = 2;

    /// <summary>The rollout ran and was rolled back: the previous version serves.</summary>
    public const int RolledBack = 3;

    /// <summary>The deployment was refused before anything was loaded (signature, budget, capabilities, validation).</summary>
    public const int Refused = 4;

    /// <summary>There is nothing to act on (no deployment, unknown version).</summary>
    public const int NotFound = 5;

    /// <summary>Another process holds what the command needs (the agent consumes the log records, or already runs).</summary>
    public const int Busy = 6;

    /// <summary>Interrupted (Ctrl+C or SIGTERM); the state is consistent and a restart resumes it.</summary>
    public const int Interrupted = 130;
}
