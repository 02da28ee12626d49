// The few bpf(2) link and test-run commands the deployment layer needs (create, update with
// compare-and-swap, detach, info, test run), issued directly so the rollout engine does not depend
// on the shape of higher-level link wrappers.
using System.Runtime.InteropServices;
using BpfLifecycle.Interop;

namespace BpfLifecycle.Deployment.Kernel;

internal static unsafe partial class KernelLinks
{
    private const uint BPF_F_REPLACE = 4;

    private static readonly long BpfSyscallNumber = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        _ => throw new PlatformNotSupportedException($"bpf(2) syscall number unknown for {RuntimeInformation.ProcessArchitecture}."),
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct LinkCreateAttr
    {
        public uint prog_fd;
        public uint target_fd;
        public uint attach_type;
        public uint flags;
        public fixed byte rest[48];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ObjGetAttr
    {
        public ulong pathname;
        public uint bpf_fd;
        public uint file_flags;
        public int path_fd;
        public uint pad;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct LinkUpdateAttr
    {
        public uint link_fd;
        public uint new_prog_fd;
        public uint flags;
        public uint old_prog_fd;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct LinkDetachAttr
    {
        public uint link_fd;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ObjInfoAttr
    {
        public uint bpf_fd;
        public uint info_len;
        public ulong info;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct LinkInfo
    {
        public uint type;
        public uint id;
        public uint prog_id;
        public uint pad;
        public fixed byte rest[64];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TestRunAttr
    {
        public uint prog_fd;
        public uint retval;
        public uint data_size_in;
        public uint data_size_out;
        public ulong data_in;
        public ulong data_out;
        public uint repeat;
        public uint duration;
        public uint ctx_size_in;
        public uint ctx_size_out;
        public ulong ctx_in;
        public ulong ctx_out;
        public uint flags;
        public uint cpu;
        public uint batch_size;
        public uint pad;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    private static long Invoke<T>(BpfCommand command, T* attr, string detail) where T : unmanaged
    {
        for (var attempt = 0; ; attempt++)
        {
            var r = Syscall(BpfSyscallNumber, (long)command, attr, sizeof(T));
            if (r >= 0)
            {
                return r;
            }

            var errno = Marshal.GetLastPInvokeError();
            if ((errno == Errno.EAGAIN || errno == Errno.EINTR) && attempt < 5)
            {
                continue;
            }

            throw new BpfException(command, errno, detail);
        }
    }

    /// <summary>BPF_LINK_CREATE for a hook identified by an interface index (XDP, TCX).</summary>
    public static BpfLinkHandle CreateNetdevLink(BpfProgramHandle program, int ifindex, BpfAttachType attachType, uint flags)
    {
        LinkCreateAttr attr = default;
        attr.prog_fd = (uint)program.Fd;
        attr.target_fd = (uint)ifindex;
        attr.attach_type = (uint)attachType;
        attr.flags = flags;
        return new BpfLinkHandle((int)Invoke(BpfCommand.LinkCreate, &attr, $"attach {attachType} to ifindex {ifindex}"));
    }

    /// <summary>BPF_OBJ_GET of a pinned link.</summary>
    public static BpfLinkHandle OpenPinned(string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            ObjGetAttr attr = default;
            attr.pathname = (ulong)p;
            return new BpfLinkHandle((int)Invoke(BpfCommand.ObjGet, &attr, $"open pinned link '{path}'"));
        }
    }

    /// <summary>BPF_LINK_UPDATE; with <paramref name="expectedOld"/> the swap only happens if that program is attached (BPF_F_REPLACE).</summary>
    public static void Update(BpfLinkHandle link, BpfProgramHandle newProgram, BpfProgramHandle? expectedOld)
    {
        LinkUpdateAttr attr = default;
        attr.link_fd = (uint)link.Fd;
        attr.new_prog_fd = (uint)newProgram.Fd;
        if (expectedOld is not null)
        {
            attr.flags = BPF_F_REPLACE;
            attr.old_prog_fd = (uint)expectedOld.Fd;
        }

        Invoke(BpfCommand.LinkUpdate, &attr, "link update");
    }

    /// <summary>BPF_LINK_DETACH: the hook is released even while the link stays pinned or open.</summary>
    public static void Detach(BpfLinkHandle link)
    {
        LinkDetachAttr attr = default;
        attr.link_fd = (uint)link.Fd;
        Invoke(BpfCommand.LinkDetach, &attr, "link detach");
    }

    /// <summary>The link's id and the id of the program it runs (0 once detached).</summary>
    public static (uint LinkId, uint ProgramId) Info(BpfLinkHandle link)
    {
        LinkInfo info = default;
        ObjInfoAttr attr = default;
        attr.bpf_fd = (uint)link.Fd;
        attr.info_len = (uint)sizeof(LinkInfo);
        attr.info = (ulong)&info;
        Invoke(BpfCommand.ObjGetInfoByFd, &attr, "link info");
        return (info.id, info.prog_id);
    }

    /// <summary>BPF_PROG_TEST_RUN once with <paramref name="input"/>; returns the program's return value.</summary>
    public static uint TestRun(BpfProgramHandle program, ReadOnlySpan<byte> input, out uint durationNs)
    {
        fixed (byte* p = input)
        {
            TestRunAttr attr = default;
            attr.prog_fd = (uint)program.Fd;
            attr.data_in = (ulong)p;
            attr.data_size_in = (uint)input.Length;
            attr.repeat = 1;
            Invoke(BpfCommand.ProgTestRun, &attr, "test run");
            durationNs = attr.duration;
            return attr.retval;
        }
    }

    [LibraryImport("libc", EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);

    /// <summary>Interface index of <paramref name="name"/> in this network namespace.</summary>
    public static int InterfaceIndex(string name)
    {
        var index = IfNameToIndex(name);
        if (index == 0)
        {
            throw new InvalidOperationException($"Network interface '{name}' does not exist in this network namespace.");
        }

        return (int)index;
    }
}
