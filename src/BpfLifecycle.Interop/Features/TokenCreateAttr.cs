// The BPF_TOKEN_CREATE member of union bpf_attr, used by the token feature probe.
using System.Runtime.InteropServices;

namespace BpfLifecycle.Interop.Native;

#pragma warning disable IDE1006 // ABI field names

[StructLayout(LayoutKind.Sequential)]
internal struct bpf_token_create_attr
{
    public uint flags;
    public uint bpffs_fd;
}
