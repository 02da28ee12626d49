// The identity every measurement, log record and alert carries: which application, program, version and hook.
namespace BpfLifecycle.Observability;

/// <summary>Names one version of one BPF program of an application, as tags on meters, log state and alerts.</summary>
/// <param name="Application">Application (deployment unit) name.</param>
/// <param name="Program">Program name.</param>
/// <param name="Version">Version label (the version id the SDK set in <c>bpflc_version_id</c>, or a release name).</param>
/// <param name="AttachPoint">Where it is attached (e.g. <c>xdp/eth1</c>), if known.</param>
public sealed record ProgramIdentity(string Application, string Program, string Version, string? AttachPoint = null)
{
    /// <summary>Throws when a required part is empty, naming it.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Application))
        {
            throw new ArgumentException("ProgramIdentity.Application is empty.");
        }

        if (string.IsNullOrWhiteSpace(Program))
        {
            throw new ArgumentException($"ProgramIdentity.Program is empty (application '{Application}').");
        }

        if (string.IsNullOrWhiteSpace(Version))
        {
            throw new ArgumentException($"ProgramIdentity.Version is empty (program '{Application}/{Program}').");
        }
    }

    /// <inheritdoc />
    public override string ToString() => AttachPoint is null ? $"{Application}/{Program}@{Version}" : $"{Application}/{Program}@{Version} ({AttachPoint})";
}
