// BPF_PROG_TEST_RUN: runs a loaded program on a packet (and optionally a context) inside the kernel,
// without attaching it, and explains the kernel's terse errors.
using BpfLifecycle.Interop.Native;

namespace BpfLifecycle.Interop;

/// <summary>What one BPF_PROG_TEST_RUN reported.</summary>
/// <param name="ReturnValue">The program's return value (e.g. an XDP action).</param>
/// <param name="DataSizeOut">Bytes of output packet written to the output buffer (the packet as the program left it).</param>
/// <param name="ContextSizeOut">Bytes of output context written to the context output buffer.</param>
/// <param name="DurationNs">Average time of one run in nanoseconds, as the kernel measured it over all repetitions.</param>
/// <param name="Repeat">How many times the program ran.</param>
public readonly record struct BpfTestRunResult(uint ReturnValue, int DataSizeOut, int ContextSizeOut, uint DurationNs, uint Repeat);

/// <summary>Flags of BPF_PROG_TEST_RUN (<c>BPF_F_TEST_*</c>).</summary>
[Flags]
public enum BpfTestRunFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_TEST_RUN_ON_CPU: run on <c>cpu</c> (raw tracepoint programs only).</summary>
    RunOnCpu = 1 << 0,
    /// <summary>BPF_F_TEST_XDP_LIVE_FRAMES: XDP frames are really sent/redirected (needs a batch size).</summary>
    XdpLiveFrames = 1 << 1,
    /// <summary>BPF_F_TEST_SKB_CHECKSUM_COMPLETE.</summary>
    SkbChecksumComplete = 1 << 2,
}

public static unsafe partial class Bpf
{
    /// <summary>Size of an Ethernet header: the kernel refuses shorter packets for packet-based program types.</summary>
    public const int EthernetHeaderLength = 14;

    /// <summary>
    /// BPF_PROG_TEST_RUN on a packet. The program runs <paramref name="repeat"/> times in the kernel; test runs count
    /// towards the program's <c>run_cnt</c> while statistics are enabled.
    /// </summary>
    /// <param name="program">A loaded program of a type that supports test runs (XDP, socket filter, tc, cgroup skb, ...).</param>
    /// <param name="dataIn">The input packet, starting with its Ethernet header.</param>
    /// <param name="dataOut">Receives the packet after the run; may be empty when the output is not wanted.</param>
    /// <param name="repeat">Number of runs (0 is treated as 1 by the kernel).</param>
    /// <exception cref="BpfException">The kernel refused the run; the message says why (short packet, small output buffer, ...).</exception>
    /// <exception cref="BpfFeatureNotSupportedException">The program's type cannot be test-run on this kernel.</exception>
    public static BpfTestRunResult TestRun(BpfProgramHandle program, ReadOnlySpan<byte> dataIn, Span<byte> dataOut, uint repeat = 1)
        => TestRun(program, dataIn, dataOut, ReadOnlySpan<byte>.Empty, Span<byte>.Empty, repeat);

    /// <summary>
    /// BPF_PROG_TEST_RUN with a packet and a context (e.g. a <c>struct __sk_buff</c> or <c>struct xdp_md</c> in,
    /// the context the program left out, or the argument array of a raw tracepoint program).
    /// </summary>
    /// <param name="program">The program to run.</param>
    /// <param name="dataIn">Input packet, or empty for context-only program types.</param>
    /// <param name="dataOut">Output packet buffer, or empty.</param>
    /// <param name="contextIn">Input context, or empty for the kernel's default context.</param>
    /// <param name="contextOut">Output context buffer, or empty.</param>
    /// <param name="repeat">Number of runs (raw tracepoint programs run once and need 0 here).</param>
    /// <param name="flags">Test run flags.</param>
    /// <param name="cpu">CPU to run on with <see cref="BpfTestRunFlags.RunOnCpu"/>.</param>
    /// <param name="batchSize">Batch size for <see cref="BpfTestRunFlags.XdpLiveFrames"/>.</param>
    public static BpfTestRunResult TestRun(
        BpfProgramHandle program,
        ReadOnlySpan<byte> dataIn,
        Span<byte> dataOut,
        ReadOnlySpan<byte> contextIn,
        Span<byte> contextOut,
        uint repeat = 1,
        BpfTestRunFlags flags = BpfTestRunFlags.None,
        uint cpu = 0,
        uint batchSize = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        fixed (byte* din = dataIn)
        fixed (byte* dout = dataOut)
        fixed (byte* cin = contextIn)
        fixed (byte* cout = contextOut)
        {
            bpf_prog_test_run_attr attr = default;
            attr.prog_fd = (uint)program.Fd;
            attr.data_in = dataIn.IsEmpty ? 0 : (ulong)din;
            attr.data_size_in = (uint)dataIn.Length;
            attr.data_out = dataOut.IsEmpty ? 0 : (ulong)dout;
            attr.data_size_out = (uint)dataOut.Length;
            attr.ctx_in = contextIn.IsEmpty ? 0 : (ulong)cin;
            attr.ctx_size_in = (uint)contextIn.Length;
            attr.ctx_out = contextOut.IsEmpty ? 0 : (ulong)cout;
            attr.ctx_size_out = (uint)contextOut.Length;
            attr.repeat = repeat;
            attr.flags = (uint)flags;
            attr.cpu = cpu;
            attr.batch_size = batchSize;
            if (BpfSyscall.Invoke(BpfCommand.ProgTestRun, &attr, out var errno) < 0)
            {
                ThrowTestRunError(program, errno, in attr, dataIn.Length, dataOut.Length, contextIn.Length, contextOut.Length);
            }

            return new BpfTestRunResult(attr.retval, (int)attr.data_size_out, (int)attr.ctx_size_out, attr.duration, Math.Max(repeat, 1));
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowTestRunError(BpfProgramHandle program, int errno, in bpf_prog_test_run_attr attr, int dataIn, int dataOut, int ctxIn, int ctxOut)
    {
        var type = TryGetProgramType(program);
        var typeName = type?.ToString() ?? "this program type";
        if (errno is Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            throw new BpfFeatureNotSupportedException(
                $"BPF_PROG_TEST_RUN for {typeName}",
                $"the kernel has no test-run support for {typeName} programs ({Errno.Name(errno)})",
                errno,
                new BpfException(BpfCommand.ProgTestRun, errno));
        }

        var detail = errno switch
        {
            Errno.EINVAL when dataIn < EthernetHeaderLength && IsPacketType(type) =>
                $"the packet is {dataIn} bytes, shorter than an Ethernet header ({EthernetHeaderLength} bytes); {typeName} test runs need a whole frame",
            Errno.EINVAL when type is BpfProgramType.RawTracepoint or BpfProgramType.RawTracepointWritable =>
                $"{typeName} test runs take only an input context of u64 arguments: no packet, no output context and repeat 0 (got packet {dataIn} bytes, context in {ctxIn}/out {ctxOut} bytes, repeat {attr.repeat})",
            Errno.EINVAL => $"{typeName} refused the test-run arguments (packet {dataIn} bytes, context in {ctxIn}/out {ctxOut} bytes); a context of the wrong size, a non-zero field the type does not take, or flags this type does not support",
            Errno.ENOSPC when attr.data_size_out > dataOut =>
                $"the output packet needs {attr.data_size_out} bytes but the output buffer holds {dataOut}",
            Errno.ENOSPC when attr.ctx_size_out > ctxOut =>
                $"the output context needs {attr.ctx_size_out} bytes but the context output buffer holds {ctxOut}",
            Errno.ENOSPC => $"an output buffer is too small (packet buffer {dataOut} bytes, context buffer {ctxOut} bytes)",
            Errno.E2BIG => $"the context ({ctxIn} bytes) is larger than {typeName} accepts",
            Errno.EPERM => $"not permitted to test-run {typeName} programs (CAP_BPF, or CAP_SYS_ADMIN, is needed)",
            _ => $"{typeName} test run",
        };
        throw new BpfException(BpfCommand.ProgTestRun, errno, detail);
    }

    private static BpfProgramType? TryGetProgramType(BpfProgramHandle program)
    {
        bpf_prog_info info = default;
        bpf_obj_info_attr attr = default;
        attr.bpf_fd = (uint)program.Fd;
        attr.info_len = (uint)sizeof(bpf_prog_info);
        attr.info = (ulong)&info;
        return BpfSyscall.Invoke(BpfCommand.ObjGetInfoByFd, &attr, out _) < 0 ? null : (BpfProgramType)info.type;
    }

    private static bool IsPacketType(BpfProgramType? type) => type is BpfProgramType.Xdp or BpfProgramType.SocketFilter
        or BpfProgramType.SchedCls or BpfProgramType.SchedAct or BpfProgramType.CgroupSkb or BpfProgramType.LwtIn
        or BpfProgramType.LwtOut or BpfProgramType.LwtXmit or BpfProgramType.LwtSeg6Local or BpfProgramType.FlowDissector
        or BpfProgramType.SkLookup or null;
}
