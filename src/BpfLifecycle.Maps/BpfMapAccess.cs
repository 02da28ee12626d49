// How user space may use a map descriptor opened from a pin or an id.
using BpfLifecycle.Interop;

namespace BpfLifecycle.Maps;

/// <summary>Access a map descriptor grants to user space (the <c>BPF_F_RDONLY</c> / <c>BPF_F_WRONLY</c> open flags).</summary>
public enum BpfMapAccess
{
    /// <summary>Read and write.</summary>
    ReadWrite = 0,

    /// <summary>Lookups only; updates and deletes fail with EPERM.</summary>
    ReadOnly = (int)BpfMapFlags.ReadOnly,

    /// <summary>Updates and deletes only; lookups fail with EPERM.</summary>
    WriteOnly = (int)BpfMapFlags.WriteOnly,
}
